import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { testClock } from '../helpers/clock.js';

// Multi-factor login (TOTP, RFC 6238, with recovery codes), required for administrators and informaticists
// by default (security.mfaRoles), as an authenticator app would compute the codes.

const clock = testClock();
const PASSWORD = 'second-factor-lighthouse-2026';
let archive: TestArchive;
let http: FastifyInstance;
let base: string;

beforeAll(async () => {
  archive = await startTestArchive({
    settings: {
      'security.authentication': true,
      'security.mfaRoles': ['administrator', 'informaticist'],
      'security.lockoutThreshold': 5,
      'security.addressThreshold': 100,
    },
    clock,
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  for (const [login, role] of [
    ['mfa-admin', 'administrator'],
    ['mfa-admin2', 'administrator'],
    ['mfa-rad', 'radiologist'],
  ])
    await archive.app.auth.createAccount({ login, roles: [role] }, PASSWORD);
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
});

class Session {
  cookie = '';
  csrf = '';
  async call(method: string, path: string, body?: unknown) {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(this.cookie ? { Cookie: this.cookie } : {}),
        ...(this.csrf ? { 'X-CSRF-Token': this.csrf } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    return { status: res.status, json, code: json.code as string | undefined };
  }
  async login(login: string, code?: string) {
    const r = await this.call('POST', '/api/auth/login', {
      login,
      password: PASSWORD,
      ...(code ? { code } : {}),
    });
    if (r.status === 200) this.csrf = r.json.csrfToken as string;
    return r;
  }
}

/** The code an authenticator app shows, `steps` periods from now. */
const code = (secret: string, steps = 0) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: clock.now().getTime() + steps * 30_000,
  });

async function enrolled(login: string): Promise<{ secret: string; recovery: string[] }> {
  const s = new Session();
  expect((await s.login(login)).status).toBe(200);
  const e = await s.call('POST', '/api/auth/mfa', { password: PASSWORD });
  expect(e.status).toBe(201);
  const secret = e.json.secret as string;
  const c = await s.call('POST', '/api/auth/mfa/confirm', { code: code(secret) });
  expect(c.status).toBe(200);
  return { secret, recovery: c.json.recoveryCodes as string[] };
}

describe('multi-factor login', () => {
  it('makes an administrator enrol before anything else, then asks every login for a code: wrong, right, replayed', async () => {
    const s = new Session();
    expect((await s.login('mfa-admin')).status).toBe(200);
    // Signed in with the password only: nothing but enrolling.
    expect((await s.call('GET', '/dicom-web/studies')).code).toBe('LNT_MFA_SETUP_REQUIRED');
    expect((await s.call('POST', '/api/tokens', { password: PASSWORD })).code).toBe('LNT_MFA_SETUP_REQUIRED');
    const me = await s.call('GET', '/api/auth/me');
    expect(me.json.mfa).toEqual({ required: true, enabled: false, recoveryLeft: 0 });
    // The page redirects to the sign-in page, where enrolment happens.
    const page = await fetch(`${base}/`, { headers: { Cookie: s.cookie }, redirect: 'manual' });
    expect(page.status).toBe(302);
    // Enrolment needs the password again, then a first code.
    expect((await s.call('POST', '/api/auth/mfa', { password: 'not-the-password-at-all' })).code).toBe(
      'LNT_REAUTH_FAILED',
    );
    const e = await s.call('POST', '/api/auth/mfa', { password: PASSWORD });
    expect(e.status).toBe(201);
    const secret = e.json.secret as string;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(e.json.uri).toBe(
      `otpauth://totp/Lantern:mfa-admin?issuer=Lantern&secret=${secret}&algorithm=SHA1&digits=6&period=30`,
    );
    expect(e.json.qr).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from((e.json.qr as string).split(',')[1], 'base64').toString()).toMatch(/^<svg /);
    const wrongFirst = await s.call('POST', '/api/auth/mfa/confirm', { code: code(secret, 20) });
    expect([wrongFirst.status, wrongFirst.code]).toEqual([401, 'LNT_MFA_FAILED']);
    const confirmed = await s.call('POST', '/api/auth/mfa/confirm', { code: code(secret) });
    expect(confirmed.status).toBe(200);
    const recovery = confirmed.json.recoveryCodes as string[];
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    expect((await s.call('GET', '/dicom-web/studies')).status).toBe(200);
    expect((await s.call('POST', '/api/auth/mfa', { password: PASSWORD })).code).toBe('LNT_CONFLICT');

    // Every later login: the code is asked for; a wrong one fails; the right one works once.
    const t = new Session();
    const missing = await t.login('mfa-admin');
    expect([missing.status, missing.code]).toEqual([401, 'LNT_MFA_REQUIRED']);
    const wrong = await t.login('mfa-admin', code(secret, 40));
    expect([wrong.status, wrong.code]).toEqual([401, 'LNT_MFA_FAILED']);
    const next = code(secret, 1); // the next period's code (this one's was used to confirm)
    expect((await t.login('mfa-admin', next)).status).toBe(200);
    expect((await t.call('GET', '/dicom-web/studies')).status).toBe(200);
    const replayed = await new Session().login('mfa-admin', next);
    expect([replayed.status, replayed.code]).toEqual([401, 'LNT_MFA_FAILED']);
    // The code used at confirmation, and older ones, are spent too.
    expect((await new Session().login('mfa-admin', code(secret))).code).toBe('LNT_MFA_FAILED');
    // A recovery code works once.
    expect((await new Session().login('mfa-admin', recovery[3].toUpperCase())).status).toBe(200);
    expect((await new Session().login('mfa-admin', recovery[3])).code).toBe('LNT_MFA_FAILED');
    expect((await t.call('GET', '/api/auth/me')).json.mfa).toMatchObject({ enabled: true, recoveryLeft: 9 });
    // Wrong codes count as failed logins: the login locks like for wrong passwords.
    for (let i = 0; i < 4; i++) await new Session().login('mfa-admin', '000000');
    const locked = await new Session().login('mfa-admin', code(secret, 1));
    expect([locked.status, locked.code]).toEqual([429, 'LNT_AUTH_LOCKED']);
    clock.advance(16);
    // The trail has the refused second factors.
    const failed = await archive.app.audit.list({ eventId: '110114', outcome: 4 }, 50, 0);
    expect(failed.some((f) => f.event.outcomeDescription === 'wrong second-factor code')).toBe(true);
    // A passcode alone (DICOM user identity) does not get past a second factor.
    expect(await archive.app.auth.verifyPeerUser('mfa-admin', PASSWORD, '127.0.0.1')).toBeUndefined();
  });

  it('lets an administrator reset a lost second factor, ending the sessions; the person enrols again', async () => {
    const { secret } = await enrolled('mfa-admin2');
    const s = new Session();
    expect((await s.login('mfa-admin2', code(secret, 1))).status).toBe(200);
    const admin = new Session();
    const reset = await promisify(execFile)(
      'node',
      [
        resolve(import.meta.dirname, '../../bin/lantern.js'),
        'user',
        'reset-mfa',
        'mfa-admin2',
        '--data',
        archive.dir,
      ],
      { env: { ...process.env, ...archive.env } },
    );
    expect(reset.stdout).toBe('second factor of mfa-admin2 removed\n');
    expect((await s.call('GET', '/api/auth/me')).status).toBe(401);
    const again = await admin.login('mfa-admin2');
    expect(again.status).toBe(200);
    expect((await admin.call('GET', '/api/auth/me')).json.mfa).toMatchObject({
      required: true,
      enabled: false,
    });
    expect((await admin.call('GET', '/dicom-web/studies')).code).toBe('LNT_MFA_SETUP_REQUIRED');
  });

  it('lets a person whose role does not need one enrol a second factor anyway, and asks for it from then on', async () => {
    const s = new Session();
    expect((await s.login('mfa-rad')).status).toBe(200);
    expect((await s.call('GET', '/dicom-web/studies')).status).toBe(200);
    expect((await s.call('GET', '/api/auth/me')).json.mfa).toMatchObject({ required: false, enabled: false });
    const { secret } = await enrolled('mfa-rad');
    expect((await new Session().login('mfa-rad')).code).toBe('LNT_MFA_REQUIRED');
    expect((await new Session().login('mfa-rad', code(secret, 1))).status).toBe(200);
  });
});
