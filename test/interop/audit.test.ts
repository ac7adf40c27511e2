import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../src/core/audit/chain.js';
import { createApp } from '../../src/main.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { freePort, runDcmtk, startDcmtkServer } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';
import { openIndexDatabase } from '../helpers/test-index.js';

const NAME = 'Zyxwvutsrqponm^Auditina';
const PID = 'AUDIT-PID-77123';
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(chunk.toString());
    cb();
  },
});
let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-audit-'));
const bin = resolve(import.meta.dirname, '../../bin/lantern.js');

beforeAll(async () => {
  archive = await startTestArchive({
    settings: { 'security.authentication': true, 'audit.site': 'test-site' },
    log: pino({ level: 'trace' }, logStream),
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'AUDITSCU',
    host: '',
    port: 0,
    permissions: ['store', 'find'],
  });
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Fhir {
  type: { code: string };
  subtype?: { code: string }[];
  action: string;
  outcome: string;
  recorded: string;
  agent: {
    who: { identifier: { value: string } };
    requestor: boolean;
    network?: { address: string };
    altId?: string;
  }[];
  entity?: { what: { identifier: { value: string } }; role: { code: string }; query?: string }[];
}

describe('the audit trail', () => {
  it('records a scripted session with the right events, codes and participants', async () => {
    const once = await archive.app.auth.bootstrap();
    const json = { 'Content-Type': 'application/json' };
    // A failed and a successful login, then the one-time password changed.
    expect(
      (
        await fetch(`${base}/api/auth/login`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ login: 'admin', password: 'wrong-password-entirely' }),
        })
      ).status,
    ).toBe(401);
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ login: 'admin', password: once }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    const session = { Cookie: cookie, 'X-CSRF-Token': csrf, ...json };
    expect(
      (
        await fetch(`${base}/api/auth/password`, {
          method: 'POST',
          headers: session,
          body: JSON.stringify({ current: once, new: 'lantern-audit-passphrase-2026' }),
        })
      ).status,
    ).toBe(204);
    // An auditor account and a token for the DICOMweb client.
    const created = await fetch(`${base}/api/users`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ login: 'auditor1', roles: ['auditor'], kind: 'service' }),
    });
    expect(created.status).toBe(201);
    // The administrator's own token, made in the session with the password confirmed; the auditor's made
    // for the service account.
    const mine = await fetch(`${base}/api/tokens`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ name: 'dicomweb client', password: 'lantern-audit-passphrase-2026' }),
    });
    expect(mine.status).toBe(201);
    const { token, id: tokenId } = (await mine.json()) as { token: string; id: number };
    const forAuditor = await fetch(`${base}/api/users/auditor1/tokens`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ name: 'audit reader', password: 'lantern-audit-passphrase-2026' }),
    });
    expect(forAuditor.status).toBe(201);
    const { token: auditorToken, id: auditorTokenId } = (await forAuditor.json()) as {
      token: string;
      id: number;
    };
    const bearer = { Authorization: `Bearer ${token}` };
    // Store by C-STORE (storescu) and STOW-RS, query, retrieve.
    const inst = synthInstance({ patientId: PID, patientName: NAME, rows: 8, columns: 8 });
    const f = join(work, 'a.dcm');
    writeFileSync(f, inst.bytes);
    expect(
      (
        await runDcmtk('storescu', [
          '-aet',
          'AUDITSCU',
          '-aec',
          'LANTERN',
          '127.0.0.1',
          String(archive.port),
          f,
        ])
      ).code,
    ).toBe(0);
    // The association's stores are recorded when it ends.
    await expect
      .poll(async () => (await archive.app.audit.list({ eventId: '110104' }, 10, 0)).length, {
        timeout: 5000,
      })
      .toBe(1);
    const second = synthInstance({
      patientId: PID,
      patientName: NAME,
      studyUid: inst.studyUid,
      seriesUid: inst.seriesUid,
      rows: 8,
      columns: 8,
    });
    const b = 'audit-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      second.bytes,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    const stow = await fetch(`${base}/dicom-web/studies`, {
      method: 'POST',
      headers: {
        ...bearer,
        Accept: 'application/dicom+json',
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${b}`,
      },
      body,
    });
    expect(stow.status).toBe(200);
    expect((await fetch(`${base}/dicom-web/studies?PatientID=${PID}`, { headers: bearer })).status).toBe(200);
    const wado = await fetch(`${base}/dicom-web/studies/${inst.studyUid}`, { headers: bearer });
    expect(wado.status).toBe(200);
    await wado.arrayBuffer();
    const find = await runDcmtk('findscu', [
      '-S',
      '-aet',
      'AUDITSCU',
      '-aec',
      'LANTERN',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `PatientID=${PID}`,
      '127.0.0.1',
      String(archive.port),
    ]);
    expect(find.code, find.out).toBe(0);
    // C-MOVE of the study to a storescp.
    const destPort = await freePort();
    const rx = mkdtempSync(join(work, 'dest-'));
    const storescp = await startDcmtkServer(
      'storescp',
      ['-aet', 'AUDITDEST', '-od', rx, String(destPort)],
      destPort,
    );
    try {
      await archive.app.aes.add(
        { aeTitle: 'AUDITDEST', host: '127.0.0.1', port: destPort, permissions: ['destination'] },
        null,
      );
      await archive.app.aes.add(
        { mode: 'device', aeTitle: 'AUDITSCU', host: '', port: 0, permissions: ['store', 'find', 'move'] },
        null,
      );
      const move = await runDcmtk('movescu', [
        '-S',
        '-aet',
        'AUDITSCU',
        '-aec',
        'LANTERN',
        '-aem',
        'AUDITDEST',
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        `StudyInstanceUID=${inst.studyUid}`,
        '127.0.0.1',
        String(archive.port),
      ]);
      expect(move.code, move.out).toBe(0);
    } finally {
      storescp.kill();
    }
    const logout = await fetch(`${base}/api/auth/logout`, {
      method: 'POST',
      headers: { Cookie: cookie, 'X-CSRF-Token': csrf },
    });
    expect(logout.status).toBe(204);
    // The auditor reads the trail (and that reading is recorded too).
    const res = await fetch(`${base}/api/audit?limit=50`, {
      headers: { Authorization: `Bearer ${auditorToken}` },
    });
    expect(res.status).toBe(200);
    const events = ((await res.json()) as { entry: { resource: Fhir }[] }).entry
      .map((e) => e.resource)
      .reverse();
    const summary = events.map(
      (e) => `${e.type.code}/${e.subtype?.[0]?.code ?? '-'}/${e.action}/${e.outcome}`,
    );
    expect(summary).toEqual([
      '110113/110128/E/0', // AUDITSCU registered (network configuration)
      '110113/110136/E/0', // first start: admin created with its role
      '110114/110122/E/4', // failed login
      '110114/110122/E/0', // login
      '110113/110137/E/0', // the one-time password changed
      '110113/110136/E/0', // auditor1 created with its role
      '110113/110137/E/0', // an API token for admin
      '110113/110137/E/0', // an API token for auditor1
      '110113/110126/E/0', // storescu's association accepted (node authentication)
      '110104/-/C/0', // its C-STORE: instances transferred in
      '110104/-/C/0', // STOW-RS: instances transferred in
      '110112/-/E/0', // QIDO-RS
      '110104/-/R/0', // WADO-RS: instances transferred out
      '110113/110126/E/0', // findscu's association accepted
      '110112/-/E/0', // its C-FIND
      '110113/110126/E/0', // movescu's association accepted
      '110104/-/R/0', // its C-MOVE: instances transferred to AUDITDEST (checked below)
      '110114/110123/E/0', // logout
      '110101/-/R/0', // the audit log read
    ]);
    const byType = (code: string, action?: string) =>
      events.find((e) => e.type.code === code && (!action || e.action === action))!;
    // Participants: login@site for people, the network address, Lantern (the AE title) as the other side.
    const failed = events[2];
    expect(failed.agent.find((a) => a.requestor)?.who.identifier.value).toBe('admin@test-site');
    expect(failed.agent.find((a) => a.requestor)?.network?.address).toBe('127.0.0.1');
    expect(failed.agent.some((a) => a.who.identifier.value === 'LANTERN' && !a.requestor)).toBe(true);
    expect(failed.recorded).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    // The patient and the study, with SOP classes and counts, on transfers.
    const stowed = events[10];
    expect(stowed.agent.find((a) => a.requestor)?.who.identifier.value).toBe('admin@test-site');
    // Each access names the credential it was made with, and who made a token for someone else.
    expect(stowed.agent.find((a) => a.requestor)?.altId).toBe(`token ${tokenId}; roles administrator`);
    expect(events.at(-1)!.agent.find((a) => a.requestor)?.altId).toBe(
      `token ${auditorTokenId}; issued by admin; roles auditor`,
    );
    // auditor1 created by the administrator signed in.
    expect(events[5].agent.find((a) => a.requestor)?.altId).toMatch(
      /^session [0-9a-f]{16}; roles administrator$/,
    );
    const cstored = events[9];
    expect(cstored.agent.find((a) => a.requestor)?.who.identifier.value).toBe('AUDITSCU');
    expect((stowed.entity ?? []).map((x) => `${x.role.code}:${x.what.identifier.value}`)).toEqual([
      `1:${PID}`,
      `3:${inst.studyUid}`,
    ]);
    const retrieved = byType('110104', 'R');
    expect((retrieved.entity ?? []).map((x) => x.what.identifier.value)).toEqual([PID, inst.studyUid]);
    const moved = events.filter((e) => e.type.code === '110104' && e.action === 'R')[1];
    // The same shape as every transfer out (DICOMweb included): the requester, Lantern the source, and the
    // destination when it is another AE.
    expect(moved.agent.map((a) => `${a.who.identifier.value}:${a.requestor}`)).toEqual([
      'AUDITSCU:true',
      'LANTERN:false',
      'AUDITDEST:false',
    ]);
    // The query itself, base64.
    const q = byType('110112').entity![0];
    expect(q.role.code).toBe('24');
    expect(Buffer.from(q.query!, 'base64').toString()).toContain(`PatientID=${PID}`);
    // Filters: by patient, by user, by outcome; CSV.
    const auditor = { Authorization: `Bearer ${auditorToken}` };
    const get = async (query: string) =>
      (
        (await (await fetch(`${base}/api/audit?${query}`, { headers: auditor })).json()) as {
          entry: unknown[];
        }
      ).entry;
    expect((await get(`patient=${PID}`)).length).toBe(4);
    expect((await get('outcome=4')).length).toBe(1);
    const csv = await (
      await fetch(`${base}/api/audit?user=admin@test-site&format=csv`, { headers: auditor })
    ).text();
    expect(csv.split('\r\n')[0]).toBe('id,recorded,event,type,action,outcome,user,address,patients,studies');
    expect(csv).toContain('User Authentication');
    // The auditor's reports.
    const report = async (name: string, query = '') => {
      const r = await fetch(`${base}/api/audit/reports/${name}?${query}`, { headers: auditor });
      expect(r.status, name).toBe(200);
      return ((await r.json()) as { rows: Record<string, string | number>[] }).rows;
    };
    const access = await report('patient-access', `patient=${PID}`);
    expect(access.map((r) => `${r.user}/${r.action}/${r.instances}`)).toEqual([
      'AUDITSCU/C/1',
      'admin@test-site/C/1',
      'admin@test-site/R/2',
      'AUDITSCU/R/2',
    ]);
    expect((await report('failed-logins')).map((r) => r.user)).toEqual(['admin@test-site']);
    expect((await report('user-activity', 'user=admin@test-site')).length).toBeGreaterThanOrEqual(6);
    expect(await report('deletions')).toEqual([]);
    expect(await report('exports')).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await report('daily-transfers', `date=${today}`)).toEqual([
      { date: today, peer: 'AUDITDEST', received: 0, sent: 2, failures: 0 },
      { date: today, peer: 'AUDITSCU', received: 1, sent: 0, failures: 0 },
      { date: today, peer: 'admin@test-site', received: 1, sent: 2, failures: 0 },
    ]);
    const csvReport = await fetch(`${base}/api/audit/reports/failed-logins?format=csv`, { headers: auditor });
    expect((await csvReport.text()).split('\r\n')[0]).toBe(
      'at,event,action,outcome,user,address,patients,studies,instances,detail',
    );
    expect((await fetch(`${base}/api/audit/reports/nonsense`, { headers: auditor })).status).toBe(400);
    // An administrator may read it; a clinician may not.
    expect((await fetch(`${base}/api/audit`, { headers: bearer })).status).toBe(200);
    await archive.app.auth.createAccount({ login: 'clin9', roles: ['clinician'], kind: 'service' });
    const ct = (await archive.app.auth.createToken('clin9')).token;
    expect((await fetch(`${base}/api/audit`, { headers: { Authorization: `Bearer ${ct}` } })).status).toBe(
      403,
    );
  });

  it('neutralises spreadsheet formulas in CSV and matches patient filters literally, never as wildcards', async () => {
    await archive.app.auth.createAccount({ login: 'csv-admin', roles: ['administrator'], kind: 'service' });
    const auth = { Authorization: `Bearer ${(await archive.app.auth.createToken('csv-admin')).token}` };
    for (const patientId of ['=2+3', 'PCT%1', 'P_X']) {
      const x = synthInstance({ patientId, rows: 8, columns: 8 });
      const b = 'csv-boundary';
      const stow = await fetch(`${base}/dicom-web/studies`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': `multipart/related; type="application/dicom"; boundary=${b}` },
        body: Buffer.concat([
          Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
          x.bytes,
          Buffer.from(`\r\n--${b}--\r\n`),
        ]),
      });
      expect(stow.status).toBe(200);
    }
    const entries = async (patient: string) => {
      const r = await fetch(`${base}/api/audit?patient=${encodeURIComponent(patient)}`, { headers: auth });
      expect(r.status, patient).toBe(200);
      return ((await r.json()) as { entry: unknown[] }).entry.length;
    };
    expect(await entries('PCT%1')).toBe(1);
    expect(await entries('%')).toBe(0);
    expect(await entries('P_X')).toBe(1);
    expect(await entries('P_')).toBe(0);
    expect(await entries('_')).toBe(0);
    const report = await fetch(`${base}/api/audit/reports/patient-access?patient=%25`, { headers: auth });
    expect(((await report.json()) as { rows: unknown[] }).rows).toEqual([]);
    const across = await fetch(`${base}/api/audit?patient=${encodeURIComponent('PCT%1|P_X')}`, {
      headers: auth,
    });
    expect(across.status).toBe(400);
    // A cell a spreadsheet would run as a formula starts with a quote.
    const csv = await (
      await fetch(`${base}/api/audit?patient=${encodeURIComponent('=2+3')}&format=csv`, { headers: auth })
    ).text();
    const cells = csv.split('\r\n')[1].split(',');
    expect(cells[cells.length - 2]).toBe("'=2+3");
    const reportCsv = await (
      await fetch(
        `${base}/api/audit/reports/patient-access?patient=${encodeURIComponent('=2+3')}&format=csv`,
        {
          headers: auth,
        },
      )
    ).text();
    expect(reportCsv).toContain(",'=2+3,");
    expect(reportCsv).not.toMatch(/(^|,)=2\+3/m);
  });

  it('keeps patient data out of the operational log', () => {
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain('Zyxwvutsrqponm');
    expect(all).not.toContain(PID);
  });

  it('finds a tampered record with lantern audit verify, and refuses changes through SQL', async () => {
    const run = promisify(execFile);
    const lantern = (...args: string[]) =>
      run('node', [bin, ...args, '--data', archive.dir], { env: { ...process.env, ...archive.env } });
    const ok = await lantern('audit', 'verify');
    expect(ok.stdout).toMatch(/\d+ audit records, chain intact/);
    // A signed checkpoint of the head, apart from the database.
    expect((await lantern('audit', 'checkpoint')).stdout).toContain('checkpoint written');
    const db = openIndexDatabase(archive.app.config);
    try {
      await expect(sql`update audit_record set outcome = 0 where id = 2`.execute(db)).rejects.toThrow(
        /append-only/,
      );
      await expect(sql`delete from audit_record where id = 2`.execute(db)).rejects.toThrow(/append-only/);
      // Someone with access to the database drops the guard and rewrites record 3 (the failed login) as a
      // success.
      await sql
        .raw(
          archive.app.index.dialect === 'postgres'
            ? 'drop trigger audit_record_append_only on audit_record'
            : 'drop trigger audit_record_no_update',
        )
        .execute(db);
      const row = await db
        .selectFrom('audit_record')
        .select('event')
        .where('id', '=', 3)
        .executeTakeFirstOrThrow();
      expect(row.event).toContain('"outcome":4');
      await db
        .updateTable('audit_record')
        .set({ event: row.event.replace('"outcome":4', '"outcome":0'), outcome: 0 })
        .where('id', '=', 3)
        .execute();
      const broken = (await lantern('audit', 'verify').catch((e: unknown) => e)) as {
        code: number;
        stdout: string;
      };
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/audit record 3 is broken: its content does not match its hash/);
      // A careful forger recomputes every hash after the change: the chain holds, the signed checkpoint does
      // not.
      const rows = await db.selectFrom('audit_record').select(['id', 'event']).orderBy('id').execute();
      let prev = '0'.repeat(64);
      for (const r of rows) {
        const h = chainHash(prev, Number(r.id), r.event);
        await db
          .updateTable('audit_record')
          .set({ prev_hash: prev, hash: h })
          .where('id', '=', r.id)
          .execute();
        prev = h;
      }
      await db.updateTable('audit_head').set({ last_hash: prev }).where('id', '=', 1).execute();
    } finally {
      await db.destroy();
    }
    const forged = (await lantern('audit', 'verify').catch((e: unknown) => e)) as {
      code: number;
      stdout: string;
    };
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/differs from the signed checkpoint/);
  });
});

describe('tamper evidence of the whole trail', () => {
  it('catches a record re-attributed to another user, records removed after a checkpoint, a missing checkpoint file and re-signed checkpoints; records a gap left by an unclean stop', async () => {
    const a = await startTestArchive();
    const run = promisify(execFile);
    const lantern = (...args: string[]) =>
      run('node', [bin, ...args, '--data', a.dir], { env: { ...process.env, ...a.env } });
    const verify = async (...args: string[]) => {
      const r = (await lantern('audit', 'verify', ...args).catch((e: unknown) => e)) as {
        code?: number;
        stdout: string;
      };
      return { code: r.code ?? 0, stdout: r.stdout };
    };
    const dropGuards = async (db: ReturnType<typeof openIndexDatabase>) => {
      for (const t of a.app.index.dialect === 'postgres'
        ? ['drop trigger audit_record_append_only on audit_record']
        : ['drop trigger audit_record_no_update', 'drop trigger audit_record_no_delete'])
        await sql.raw(t).execute(db);
    };
    try {
      for (let i = 0; i < 6; i++)
        await a.app.aes.add({
          mode: 'device',
          aeTitle: `PEER${i}`,
          host: '',
          port: 0,
          permissions: ['find'],
        });
      // A clean stop writes a checkpoint of the head.
      await a.app.audit.checkpoint();
      const intact = /^(\d+) audit records, chain intact\n$/;
      const n = Number(intact.exec((await verify()).stdout)?.[1]);
      expect(n).toBeGreaterThanOrEqual(6);
      // Records after the last checkpoint, left by a stop that wrote none, are named at the next start.
      await a.app.aes.add({ mode: 'device', aeTitle: 'LATE1', host: '', port: 0, permissions: ['find'] });
      await a.app.aes.add({ mode: 'device', aeTitle: 'LATE2', host: '', port: 0, permissions: ['find'] });
      expect((await verify()).stdout).toMatch(/the last \d+ written within the checkpoint interval/);
      // The next process to start (as `serve` does) names them before it signs the chain.
      const next = await createApp(a.app.config, pino({ level: 'silent' }));
      try {
        await next.audit.resume();
      } finally {
        await next.close();
      }
      const [gap] = await a.app.audit.list({ eventId: '110113', outcome: 4 }, 1, 0);
      const named = /^audit records (\d+) to (\d+) were written after the last checkpoint/.exec(
        gap.event.outcomeDescription ?? '',
      );
      expect(Number(named?.[1])).toBe(n + 1);
      const last = Number(named?.[2]);
      expect(last).toBeGreaterThanOrEqual(n + 2);
      expect((await verify()).stdout).toBe(`${last + 1} audit records, chain intact\n`);
      // The public key, for a witness to keep.
      const key = (await lantern('audit', 'key')).stdout;
      expect(key).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
      const witness = join(work, 'witness.pem');
      writeFileSync(witness, key);
      expect((await verify('--public-key', witness)).code).toBe(0);

      const db = openIndexDatabase(a.app.config);
      try {
        await dropGuards(db);
        // Re-attributed in the column the reports and filters read (the event itself untouched).
        const was = await db
          .selectFrom('audit_record')
          .select('user_id')
          .where('id', '=', 3)
          .executeTakeFirstOrThrow();
        await db
          .updateTable('audit_record')
          .set({ user_id: 'someone-else@site' })
          .where('id', '=', 3)
          .execute();
        const moved = await verify();
        expect(moved.code).toBe(1);
        expect(moved.stdout).toMatch(/audit record 3 is broken: its columns differ from its event/);
        await db.updateTable('audit_record').set({ user_id: was.user_id }).where('id', '=', 3).execute();
        expect((await verify()).code).toBe(0);
        // The last two records deleted and the head set back to match: the stop's checkpoint vouches for more.
        const keep = n + 1;
        const head = await db
          .selectFrom('audit_record')
          .select(['id', 'hash'])
          .where('id', '=', keep)
          .executeTakeFirstOrThrow();
        await db.deleteFrom('audit_record').where('id', '>', keep).execute();
        await db
          .updateTable('audit_head')
          .set({ last_id: keep, last_hash: head.hash })
          .where('id', '=', 1)
          .execute();
        const cut = await verify();
        expect(cut.code).toBe(1);
        expect(cut.stdout).toContain(
          `audit record ${keep + 1} is broken: records after ${keep} were removed`,
        );
      } finally {
        await db.destroy();
      }
      // Without the checkpoint file: within the checkpoint interval records are just not yet checkpointed;
      // once older than it (verified here by a process whose clock is 20 minutes on), nothing vouches for them.
      rmSync(join(a.dir, 'audit-checkpoints.jsonl'));
      expect((await verify()).stdout).toMatch(
        /chain intact; the last \d+ written within the checkpoint interval/,
      );
      const later = await createApp(a.app.config, pino({ level: 'silent' }), {
        clock: { now: () => new Date(Date.now() + 20 * 60_000) },
      });
      try {
        const none = await later.audit.verify();
        expect(none.broken?.reason).toMatch(
          /^no signed checkpoint vouches for records 1 to \d+, written at /,
        );
      } finally {
        await later.close();
      }
      // A forger with a new key signs new checkpoints: the witness's copy of the public key refuses them.
      rmSync(join(a.dir, 'audit-signing.key'));
      await lantern('audit', 'checkpoint');
      expect((await verify()).code).toBe(0);
      const resigned = await verify('--public-key', witness);
      expect(resigned.code).toBe(1);
      expect(resigned.stdout).toMatch(/a checkpoint signature does not verify/);
    } finally {
      await a.close();
    }
  });
});
