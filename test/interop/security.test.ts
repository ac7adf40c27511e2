import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_NAMES, ROLES } from '../../src/core/security/roles.js';
import { assertSafeBinding, buildHttpServer, routeTable } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { synthInstance } from '../helpers/synth.js';
import { testClock } from '../helpers/clock.js';

/** A clock the test moves by hand, from the real time on. */
const clock = testClock();

let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const study = synthInstance({ patientId: 'SEC1', rows: 8, columns: 8 });
const GOOD = 'lantern-correct-horse-battery';

beforeAll(async () => {
  archive = await startTestArchive({
    settings: {
      'security.authentication': true,
      'security.lockoutThreshold': 5,
      'security.addressThreshold': 20,
    },
    clock,
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  await archive.app.ingest.ingest({ chunks: [study.bytes], source: 'TEST' });
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
});

/** A browser-like client: keeps the session cookie and the CSRF token. */
class Browser {
  cookie = '';
  csrf = '';
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(this.cookie ? { Cookie: this.cookie } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      /* not JSON */
    }
    return { status: res.status, json, headers: res.headers };
  }
  async login(login: string, password: string) {
    const r = await this.request('POST', '/api/auth/login', { login, password });
    if (r.status === 200) this.csrf = r.json.csrfToken as string;
    return r;
  }
  /** A state change with the CSRF token, as the web app sends it. */
  change(method: string, path: string, body?: unknown) {
    return this.request(method, path, body, { 'X-CSRF-Token': this.csrf });
  }
}

async function account(login: string, roles: string[], password = GOOD): Promise<Browser> {
  const { password: once } = await archive.app.auth.createAccount({ login, roles });
  const b = new Browser();
  expect((await b.login(login, once)).status).toBe(200);
  expect((await b.change('POST', '/api/auth/password', { current: once, new: password })).status).toBe(204);
  return b;
}

describe('login, password change, sessions', () => {
  it('creates admin with a one-time password that must be changed, enforces the password policy and CSRF', async () => {
    const once = await archive.app.auth.bootstrap();
    expect(once).toMatch(/^[\w-]{20,}$/);
    expect(await archive.app.auth.bootstrap()).toBeUndefined(); // only on the first start
    const b = new Browser();
    const login = await b.login('admin', once!);
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(
      /lantern_session=[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict/,
    );
    expect((login.json.account as { mustChangePassword: boolean }).mustChangePassword).toBe(true);
    // Nothing but the password change until it is changed.
    const blocked = await b.request('GET', '/dicom-web/studies');
    expect([blocked.status, blocked.json.code]).toEqual([403, 'LNT_PASSWORD_CHANGE_REQUIRED']);
    // A state change without the CSRF token is refused.
    const noCsrf = await b.request('POST', '/api/auth/password', { current: once, new: GOOD });
    expect([noCsrf.status, noCsrf.json.code]).toEqual([403, 'LNT_CSRF']);
    for (const weak of ['short-pw', 'baseball123456789', 'xxxxxxxxxxxxxxxx', 'my-admin-password-2026']) {
      const r = await b.change('POST', '/api/auth/password', { current: once, new: weak });
      expect([r.status, r.json.code], weak).toEqual([400, 'LNT_PASSWORD_POLICY']);
    }
    // A long passphrase works whole (no truncation): a different ending is a different password.
    const long = `${'a long passphrase of many words '.repeat(8)}ending one`;
    expect((await b.change('POST', '/api/auth/password', { current: once, new: long })).status).toBe(204);
    expect((await b.request('GET', '/dicom-web/studies')).status).toBe(200);
    expect((await new Browser().login('admin', long.replace('one', 'two'))).status).toBe(401);
    expect((await new Browser().login('admin', long)).status).toBe(200);
  });

  it('ends sessions when idle, at their absolute end, at logout, and when the account is disabled or its roles change', async () => {
    const b = await account('clin1', ['clinician']);
    expect((await b.request('GET', '/dicom-web/studies')).status).toBe(200);
    clock.advance(16);
    expect((await b.request('GET', '/dicom-web/studies')).status).toBe(401);
    // Activity keeps a session alive, up to its absolute lifetime (12 hours).
    expect((await b.login('clin1', GOOD)).status).toBe(200);
    for (let i = 0; i < 71; i++) {
      clock.advance(10);
      expect((await b.request('GET', '/api/auth/me')).status, `after ${(i + 1) * 10} min`).toBe(200);
    }
    clock.advance(10);
    expect((await b.request('GET', '/api/auth/me')).status).toBe(401);
    // Logout ends it server-side: the old cookie replayed is refused.
    expect((await b.login('clin1', GOOD)).status).toBe(200);
    const old = b.cookie;
    expect((await b.change('POST', '/api/auth/logout')).status).toBe(204);
    const replay = await fetch(`${base}/dicom-web/studies`, { headers: { Cookie: old } });
    expect(replay.status).toBe(401);
    // Own sessions listed; disabling the account ends its live sessions.
    const second = new Browser();
    expect((await b.login('clin1', GOOD)).status).toBe(200);
    expect((await second.login('clin1', GOOD)).status).toBe(200);
    const sessions = (await b.request('GET', '/api/auth/sessions')).json as unknown as { current: boolean }[];
    expect(sessions.length).toBe(2);
    expect(sessions.filter((s) => s.current).length).toBe(1);
    await archive.app.auth.updateAccount('clin1', { enabled: false });
    expect((await b.request('GET', '/api/auth/me')).status).toBe(401);
    expect((await second.login('clin1', GOOD)).status).toBe(401);
    await archive.app.auth.updateAccount('clin1', { enabled: true });
    expect((await b.login('clin1', GOOD)).status).toBe(200);
    await archive.app.auth.updateAccount('clin1', { roles: ['auditor'] });
    expect((await b.request('GET', '/api/auth/me')).status).toBe(401);
  });
});

describe('brute force', () => {
  it('locks a login after repeated failures with one message for unknown and wrong, and throttles an address', async () => {
    await account('rad1', ['radiologist']);
    const wrong = await new Browser().login('rad1', 'not-the-password-at-all');
    const unknown = await new Browser().login('nobody-here', 'not-the-password-at-all');
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.json).toEqual(unknown.json);
    for (let i = 0; i < 4; i++) await new Browser().login('rad1', `wrong-password-number-${i}`);
    const locked = await new Browser().login('rad1', GOOD);
    expect([locked.status, locked.json.code]).toEqual([429, 'LNT_AUTH_LOCKED']);
    clock.advance(16);
    expect((await new Browser().login('rad1', GOOD)).status).toBe(200);
    // SQL injection in the login is just a wrong login.
    expect((await new Browser().login("' OR '1'='1' --", "' OR '1'='1' --")).status).toBe(401);
    // From one address, many failures over many logins throttle the address for everyone.
    for (let i = 0; i < 20; i++) await new Browser().login(`guess${i}`, 'not-the-password-at-all');
    const throttled = await new Browser().login('rad1', GOOD);
    expect([throttled.status, throttled.json.code]).toEqual([429, 'LNT_AUTH_LOCKED']);
    clock.advance(16);
    expect((await new Browser().login('rad1', GOOD)).status).toBe(200);
  });
});

const bin = resolve(import.meta.dirname, '../../bin/lantern.js');
/** A `lantern` command on the test archive (its data folder, and its database under PostgreSQL). */
const lantern = (...args: string[]) =>
  promisify(execFile)('node', [bin, ...args, '--data', archive.dir], {
    env: { ...process.env, ...archive.env },
  });

describe('API tokens', () => {
  it('are made by the CLI for service accounts only (printing only the token), work as Bearer, and stop at revocation, expiry, a role change or a disabled account', async () => {
    const add = await lantern('user', 'add', 'pacs-script', '--role', 'radiographer', '--service');
    expect(add.stdout).toMatch(/service account pacs-script created \(radiographer\)/);
    expect((await new Browser().login('pacs-script', '')).status).toBe(401); // it cannot sign in
    const created = await lantern('token', 'create', '--user', 'pacs-script', '--expires', '30d');
    const token = created.stdout.trim();
    expect(token).toMatch(/^lnt_[\w-]{43}$/);
    const auth = { Authorization: `Bearer ${token}` };
    expect((await fetch(`${base}/dicom-web/studies`, { headers: auth })).status).toBe(200);
    // No longer than the policy allows, and not for a person's account.
    await expect(
      lantern('token', 'create', '--user', 'pacs-script', '--expires', '91d'),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/1 to 90 days/),
    });
    await account('person1', ['radiologist']);
    await expect(lantern('token', 'create', '--user', 'person1')).rejects.toMatchObject({
      stderr: expect.stringMatching(/person's account/),
    });
    // A token does not make tokens (a 1-day token made one that never ended).
    const minted = await fetch(`${base}/api/tokens`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'second', expiresInDays: 3650 }),
    });
    expect([minted.status, ((await minted.json()) as { code: string }).code]).toEqual([403, 'LNT_FORBIDDEN']);
    const list = (await (await fetch(`${base}/api/tokens`, { headers: auth })).json()) as {
      id: number;
      expiresAt: string;
    }[];
    expect(list.length).toBe(1);
    expect(JSON.stringify(list)).not.toContain(token);
    // Forged, alg:none JWT, and malformed headers.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.`;
    for (const h of [
      `Bearer lnt_${'A'.repeat(43)}`,
      `Bearer ${none}`,
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${token}x`,
    ]) {
      const r = await fetch(`${base}/dicom-web/studies`, { headers: { Authorization: h } });
      expect(r.status, h).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="lantern"');
    }
    // Revocation.
    const other = {
      Authorization: `Bearer ${(await lantern('token', 'create', '--user', 'pacs-script')).stdout.trim()}`,
    };
    const ids = (await (await fetch(`${base}/api/tokens`, { headers: other })).json()) as { id: number }[];
    expect((await fetch(`${base}/api/tokens/${ids[1].id}`, { method: 'DELETE', headers: auth })).status).toBe(
      204,
    );
    expect((await fetch(`${base}/dicom-web/studies`, { headers: other })).status).toBe(401);
    // Expiry.
    clock.advance(31 * 24 * 60);
    expect((await fetch(`${base}/dicom-web/studies`, { headers: auth })).status).toBe(401);
    // A role change revokes the tokens; so does disabling the account.
    const t2 = {
      Authorization: `Bearer ${(await lantern('token', 'create', '--user', 'pacs-script')).stdout.trim()}`,
    };
    expect((await fetch(`${base}/dicom-web/studies`, { headers: t2 })).status).toBe(200);
    await archive.app.auth.updateAccount('pacs-script', { roles: ['clinician'] });
    expect((await fetch(`${base}/dicom-web/studies`, { headers: t2 })).status).toBe(401);
    const t3 = {
      Authorization: `Bearer ${(await lantern('token', 'create', '--user', 'pacs-script')).stdout.trim()}`,
    };
    expect((await fetch(`${base}/dicom-web/studies`, { headers: t3 })).status).toBe(200);
    await lantern('user', 'disable', 'pacs-script');
    expect((await fetch(`${base}/dicom-web/studies`, { headers: t3 })).status).toBe(401);
    await lantern('user', 'enable', 'pacs-script');
    expect((await fetch(`${base}/dicom-web/studies`, { headers: t3 })).status).toBe(401);
  });

  it("are made by a person, signed in, confirming the password; never by an administrator for a person; and end with the person's password", async () => {
    const p = await account('tok1', ['radiologist']);
    const make = (body: Record<string, unknown>) => p.change('POST', '/api/tokens', body);
    const noPassword = await make({ name: 'viewer' });
    expect([noPassword.status, noPassword.json.code]).toEqual([403, 'LNT_REAUTH_FAILED']);
    const wrong = await make({ name: 'viewer', password: 'not-my-password-at-all' });
    expect([wrong.status, wrong.json.code]).toEqual([403, 'LNT_REAUTH_FAILED']);
    const tooLong = await make({ name: 'viewer', password: GOOD, expiresInDays: 91 });
    expect([tooLong.status, tooLong.json.code]).toEqual([400, 'LNT_HTTP_BAD_REQUEST']);
    const made = await make({ name: 'viewer', password: GOOD, expiresInDays: 7 });
    expect(made.status).toBe(201);
    const own = { Authorization: `Bearer ${made.json.token as string}` };
    expect((await fetch(`${base}/dicom-web/studies`, { headers: own })).status).toBe(200);
    // The default is the policy's longest life.
    const dflt = await make({ password: GOOD });
    const life = Date.parse(dflt.json.expiresAt as string) - clock.now().getTime();
    expect(life).toBeGreaterThan(90 * 86_400_000 - 60_000);
    expect(life).toBeLessThanOrEqual(90 * 86_400_000);
    // An administrator makes tokens for service accounts, not to act as a person.
    const admin = await account('secadmin', ['administrator']);
    const impersonate = await admin.change('POST', '/api/users/tok1/tokens', { name: 'as tok1' });
    expect([impersonate.status, impersonate.json.code]).toEqual([403, 'LNT_FORBIDDEN']);
    await archive.app.auth.createAccount({ login: 'router-svc', roles: ['radiographer'], kind: 'service' });
    // For a service account too the maker confirms their own password, signed in.
    const unconfirmed = await admin.change('POST', '/api/users/router-svc/tokens', { name: 'router' });
    expect([unconfirmed.status, unconfirmed.json.code]).toEqual([403, 'LNT_REAUTH_FAILED']);
    const forService = await admin.change('POST', '/api/users/router-svc/tokens', {
      name: 'router',
      password: GOOD,
    });
    expect(forService.status).toBe(201);
    // A token (even the administrator's own service's) does not mint another.
    const byToken = await fetch(`${base}/api/users/router-svc/tokens`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${forService.json.token as string}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ password: GOOD }),
    });
    expect(byToken.status).toBe(403);
    const reset = await admin.change('POST', '/api/users/router-svc/reset-password');
    expect(reset.status).toBe(400); // a service account has no password
    // The owner's password change revokes the tokens made before it.
    const changed = await p.change('POST', '/api/auth/password', { current: GOOD, new: `${GOOD}-renewed` });
    expect(changed.status).toBe(204);
    expect((await fetch(`${base}/dicom-web/studies`, { headers: own })).status).toBe(401);
    // So does an administrator's reset: a token used after a reset is refused.
    const again = await make({ password: `${GOOD}-renewed` });
    expect(again.status).toBe(201);
    const after = { Authorization: `Bearer ${again.json.token as string}` };
    expect((await admin.change('POST', '/api/users/tok1/reset-password')).status).toBe(200);
    expect((await fetch(`${base}/dicom-web/studies`, { headers: after })).status).toBe(401);
    // A one-time password blocks tokens until it is changed: none is made in such a session, nor by the CLI.
    const fresh = new Browser();
    const { password: once } = await archive.app.auth.createAccount({
      login: 'tok2',
      roles: ['radiologist'],
    });
    expect((await fresh.login('tok2', once)).status).toBe(200);
    const early = await fresh.change('POST', '/api/tokens', { password: once });
    expect([early.status, early.json.code]).toEqual([403, 'LNT_PASSWORD_CHANGE_REQUIRED']);
    await expect(lantern('token', 'create', '--user', 'tok2')).rejects.toMatchObject({
      stderr: expect.stringMatching(/person's account/),
    });
    clock.advance(16);
  });

  it('checks the current password of a password change through the login throttle, and refuses weak passwords', async () => {
    const p = await account('pw1', ['radiologist']);
    for (const weak of ['abcdefghijkl', 'Passw0rd!Passw0rd!', 'pw1-pw1-pw1-pw1']) {
      const r = await p.change('POST', '/api/auth/password', { current: GOOD, new: weak });
      expect([r.status, r.json.code], weak).toEqual([400, 'LNT_PASSWORD_POLICY']);
    }
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await p.change('POST', '/api/auth/password', {
        current: `wrong-current-${i}`,
        new: `${GOOD}-2`,
      });
      codes.push(r.json.code as string);
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('LNT_AUTH_FAILED'));
    expect(codes.slice(5)).toEqual(Array(5).fill('LNT_AUTH_LOCKED'));
    // The right one is refused while locked, then accepted.
    const locked = await p.change('POST', '/api/auth/password', { current: GOOD, new: `${GOOD}-2` });
    expect([locked.status, locked.json.code]).toEqual([429, 'LNT_AUTH_LOCKED']);
    clock.advance(16);
    expect((await p.login('pw1', GOOD)).status).toBe(200);
    expect((await p.change('POST', '/api/auth/password', { current: GOOD, new: `${GOOD}-2` })).status).toBe(
      204,
    );
  });
});

describe('security alerts', () => {
  it('records refused requests as Security Alerts, at most one per source and minute however many come', async () => {
    await archive.app.auth.createAccount({ login: 'flood-clin', roles: ['clinician'], kind: 'service' });
    const token = (await archive.app.auth.createToken('flood-clin')).token;
    // Start a fresh window for this source.
    clock.advance(2);
    const alertsNow = async () =>
      (await archive.app.audit.list({ eventId: '110113', outcome: 4 }, 1000, 0)).filter((r) =>
        /^access refused: (401|403) /.test(r.event.outcomeDescription ?? ''),
      );
    const before = (await alertsNow()).length;
    // 200 requests with a valid credential used for the wrong thing, and 100 with none, ten at a time (more
    // at once would meet the connections-per-address limit first).
    const burst = async (n: number, url: string, headers: Record<string, string>) => {
      const statuses = new Set<number>();
      for (let i = 0; i < n; i += 10) {
        const got = await Promise.all(
          Array.from({ length: 10 }, () => fetch(url, { headers }).then((r) => r.status)),
        );
        got.forEach((g) => statuses.add(g));
      }
      return statuses;
    };
    expect(await burst(200, `${base}/api/users`, { Authorization: `Bearer ${token}` })).toEqual(
      new Set([403]),
    );
    expect(await burst(100, `${base}/api/audit`, {})).toEqual(new Set([401]));
    const during = (await alertsNow()).slice(0, (await alertsNow()).length - before);
    expect(during.length).toBe(1); // one source (127.0.0.1), one kind, one window
    const first = during[0].event;
    expect(first.outcomeDescription).toMatch(
      /^access refused: (403 LNT_FORBIDDEN GET \/api\/users|401 LNT_AUTH_REQUIRED GET \/api\/audit)( \(and \d+ more |$)/,
    );
    expect(first.participants.find((p) => p.requestor)?.networkAccessPoint).toBe('127.0.0.1');
    // After the window, the next refusal is recorded with the count of those not recorded one by one.
    clock.advance(2);
    expect((await fetch(`${base}/api/users`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(
      403,
    );
    const [next] = await alertsNow();
    expect(next.event.outcomeDescription).toMatch(/\(and 299 more refused from this source since /);
    expect(next.event.participants.find((p) => p.requestor)?.userId).toMatch(/^flood-clin@/);
    // The auditor's report shows them.
    await archive.app.auth.createAccount({ login: 'alert-auditor', roles: ['auditor'], kind: 'service' });
    const auditor = {
      Authorization: `Bearer ${(await archive.app.auth.createToken('alert-auditor')).token}`,
    };
    const report = (await (
      await fetch(`${base}/api/audit/reports/security-alerts`, { headers: auditor })
    ).json()) as {
      rows: { detail: string }[];
    };
    expect(report.rows.some((r) => r.detail.includes('and 299 more refused'))).toBe(true);
  });
});

/** Values to put into route parameters so that every route can be called. */
function fill(url: string): string {
  return url
    .replace(':study', study.studyUid)
    .replace(':series', study.seriesUid)
    .replace(':instance', study.sopUid)
    .replace(':frames', '1')
    .replace(':tag', '7FE00010')
    .replace(':login', 'nobody')
    .replace(':id', '999')
    .replace(':name', 'failed-logins');
}

describe('the route table', () => {
  it('answers every route unauthenticated with 401 and as each role by its permission', async () => {
    const routes = routeTable(http).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(30);
    const tokens: Record<string, string> = {};
    for (const role of ROLE_NAMES) {
      await archive.app.auth.createAccount({ login: `walk-${role}`, roles: [role], kind: 'service' });
      tokens[role] = (await archive.app.auth.createToken(`walk-${role}`)).token;
    }
    for (const r of routes) {
      // Every route says who may call it.
      expect(r.access, `${r.method} ${r.url}`).toBeDefined();
      const call = (headers: Record<string, string>) =>
        fetch(base + fill(r.url), {
          method: r.method,
          headers: { ...headers, ...(r.method === 'GET' ? {} : { 'Content-Type': 'application/json' }) },
          body: r.method === 'GET' ? undefined : '{}',
          redirect: 'manual',
        });
      const anonymous = await call({});
      await anonymous.arrayBuffer();
      if (r.access === 'page') {
        // The web app's pages: a browser without a session goes to the sign-in page, and so does a token
        // (pages are for people signed in, tokens for scripts, which have the API).
        for (const res of [anonymous, await call({ Authorization: `Bearer ${tokens.administrator}` })]) {
          expect(res.status, `${r.method} ${r.url}`).toBe(302);
          expect(res.headers.get('location'), `${r.method} ${r.url}`).toMatch(/^\/login\?next=/);
        }
        continue;
      }
      if (r.access === 'session' || r.access === 'enrol') {
        // Done signed in, never with a token (a token does not make tokens).
        expect(anonymous.status, `${r.method} ${r.url} unauthenticated`).toBe(401);
        for (const role of ROLE_NAMES) {
          const res = await call({ Authorization: `Bearer ${tokens[role]}` });
          expect(res.status, `${r.method} ${r.url} as ${role}`).toBe(403);
        }
        continue;
      }
      if (r.access === 'public') expect(anonymous.status, `${r.method} ${r.url}`).not.toBe(401);
      else expect(anonymous.status, `${r.method} ${r.url} unauthenticated`).toBe(401);
      for (const role of ROLE_NAMES) {
        const res = await call({ Authorization: `Bearer ${tokens[role]}` });
        await res.arrayBuffer();
        const allowed =
          r.access === 'public' ||
          r.access === 'authenticated' ||
          r.access === 'password-change' ||
          (ROLES[role] as readonly string[]).includes(r.access!);
        const where = `${r.method} ${r.url} as ${role}`;
        if (allowed) expect([401, 403], where).not.toContain(res.status);
        else expect(res.status, where).toBe(403);
      }
    }
  });

  it('refuses a researcher identified data by UID, a clinician storing or managing users, and bad parameters', async () => {
    const t = async (role: string) => ({
      Authorization: `Bearer ${(await archive.app.auth.createToken(`walk-${role}`)).token}`,
    });
    const researcher = await t('researcher');
    const clinician = await t('clinician');
    const url = `${base}/dicom-web/studies/${study.studyUid}/series/${study.seriesUid}/instances/${study.sopUid}`;
    const r = await fetch(url, { headers: researcher });
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([403, 'LNT_FORBIDDEN']);
    expect((await fetch(`${base}/dicom-web/studies`, { method: 'POST', headers: clinician })).status).toBe(
      403,
    );
    expect(
      (
        await fetch(`${base}/api/users`, {
          method: 'POST',
          headers: { ...clinician, 'Content-Type': 'application/json' },
          body: JSON.stringify({ login: 'evil', roles: ['administrator'] }),
        })
      ).status,
    ).toBe(403);
    expect(await archive.app.auth.listAccounts().then((l) => l.some((a) => a.login === 'evil'))).toBe(false);
    // Traversal and injection strings in path parameters, sent as they are (a browser would normalise them).
    for (const bad of [
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e',
      '..%5C..%5Cwindows',
      "1.2.3'%20OR%201=1--",
      '..\\..',
    ]) {
      const status = await new Promise<number>((done, fail) => {
        const { hostname, port } = new URL(base);
        const path = `/dicom-web/studies/${bad}/series`;
        const req = request({ hostname, port, path, headers: clinician }, (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        });
        req.on('error', fail);
        req.end();
      });
      expect(status, bad).toBe(400);
    }
    // Oversized headers are refused by the HTTP parser.
    const big = await fetch(`${base}/healthz`, { headers: { 'X-Big': 'x'.repeat(20000) } }).catch(
      () => undefined,
    );
    expect(big?.status ?? 431).toBe(431);
  });

  it('sends security headers and refuses to expose HTTP without authentication beyond loopback', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const open = {
      ...archive.app,
      config: { ...archive.app.config, security: { ...archive.app.config.security, authentication: false } },
    };
    expect(() => assertSafeBinding(open, '0.0.0.0')).toThrow(/security.authentication/);
    expect(() => assertSafeBinding(open, '127.0.0.1')).not.toThrow();
    expect(() => assertSafeBinding(archive.app, '0.0.0.0')).not.toThrow();
  });
});
