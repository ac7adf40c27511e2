import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { pydicomDataDir } from '../helpers/corpus.js';
import { SopClass } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { CommandField, encodeCommand } from '../../src/core/dimse/command.js';
import { encodePdu } from '../../src/core/ul/pdu.js';
import { DCMTK_ENV, runDcmtk } from '../helpers/dcmtk.js';
import { associateRq, RawPeer } from '../helpers/raw-peer.js';
import { synthInstance, uid } from '../helpers/synth.js';
import {
  createTestIndex,
  openIndexDatabase,
  type TestIndexDatabase,
  testIndex,
} from '../helpers/test-index.js';

const bin = resolve(import.meta.dirname, '../../bin/lantern.js');
const run = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lantern-cli-'));
  dirs.push(d);
  return d;
};
const indexes: TestIndexDatabase[] = [];
/**
 * A data folder for `lantern` commands, and the environment that points them at its index: SQLite in the
 * folder, or under LANTERN_TEST_INDEX=postgres a database of its own.
 */
async function dataDir(): Promise<{ data: string; env: Readonly<Record<string, string>> }> {
  const index = await createTestIndex();
  indexes.push(index);
  return { data: tmp(), env: index.env };
}
afterAll(async () => {
  for (const i of indexes) await i.drop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function lantern(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run('node', [bin, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function startServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: ChildProcess; http: number; dicom: number; log: () => string; out: () => string }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn('node', [bin, 'serve', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let err = '';
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of err.split('\n')) {
        if (!line.includes('lantern started')) continue;
        const j = JSON.parse(line) as { httpPort: number; dicomPort: number };
        resolvePromise({ proc, http: j.httpPort, dicom: j.dicomPort, log: () => err, out: () => out });
      }
    });
    proc.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

describe('lantern command line', () => {
  it('serve: the first start prints the admin one-time password once; DICOMweb needs a login', async () => {
    const { data, env } = await dataDir();
    const args = ['--data', data, '--dicom-port', '0', '--http-port', '0'];
    const first = await startServer(args, env);
    let password: string;
    try {
      const m = /One-time password: (\S+)/.exec(first.out());
      expect(m, first.out()).toBeTruthy();
      password = m![1];
      const base = `http://127.0.0.1:${first.http}`;
      expect((await fetch(`${base}/dicom-web/studies`)).status).toBe(401);
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ login: 'admin', password }),
      });
      expect(login.status).toBe(200);
      // Never in the operational log.
      expect(first.log()).not.toContain(password);
    } finally {
      first.proc.kill('SIGTERM');
      await new Promise((r) => first.proc.once('exit', r));
    }
    const second = await startServer(args, env);
    try {
      expect(second.out()).not.toContain('One-time password');
    } finally {
      second.proc.kill('SIGTERM');
      await new Promise((r) => second.proc.once('exit', r));
    }
  });

  it('serve refuses to listen beyond loopback with authentication off, saying how to fix it', async () => {
    const r = await lantern(['serve', '--data', tmp(), '--dicom-port', '0', '--http-port', '0'], {
      LANTERN_AUTHENTICATION: 'false',
      LANTERN_HTTP_HOST: '0.0.0.0',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/security.authentication/);
  });

  it('--help lists every command', async () => {
    const r = await lantern(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['serve', 'import', 'verify']) expect(r.stdout).toContain(c);
  });

  it('serve: /healthz answers, the AE registry decides who associates (changed while running), SIGTERM stops cleanly', async () => {
    const { data, env } = await dataDir();
    const s = await startServer(
      ['--data', data, '--dicom-port', '0', '--http-port', '0', '--aet', 'TESTARCH'],
      env,
    );
    try {
      const res = await fetch(`http://127.0.0.1:${s.http}/healthz`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; aeTitle: string; index: string };
      expect(body).toMatchObject({ status: 'ok', aeTitle: 'TESTARCH', index: testIndex });
      const echo = () =>
        new Promise<{ code: number | null; out: string }>((ok) => {
          const c = spawn(
            'echoscu',
            ['-aet', 'MODALITY1', '-aec', 'TESTARCH', '127.0.0.1', String(s.dicom)],
            { env: DCMTK_ENV },
          );
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.stderr.on('data', (d) => (out += d));
          c.on('close', (code) => ok({ code, out }));
        });
      // Unknown callers are refused by default.
      const refused = await echo();
      expect(refused.code).not.toBe(0);
      expect(refused.out).toMatch(/Calling AE Title Not Recognized/i);
      // Registering the AE in another process takes effect in the running server.
      const add = await lantern(
        ['ae', 'add', 'MODALITY1', '--host', '127.0.0.1', '--allow', 'store', '--data', data],
        env,
      );
      expect(add.code).toBe(0);
      expect(add.stdout).toMatch(/MODALITY1 registered: host 127.0.0.1 port - allow store/);
      expect((await echo()).code).toBe(0);
      expect((await lantern(['ae', 'list', '--data', data], env)).stdout).toMatch(
        /MODALITY1\s+host 127.0.0.1/,
      );
      expect((await lantern(['ae', 'remove', 'MODALITY1', '--data', data], env)).code).toBe(0);
      expect((await echo()).code).not.toBe(0);
      expect((await lantern(['ae', 'remove', 'MODALITY1', '--data', data], env)).code).toBe(1);
      expect((await lantern(['ae', 'add', 'BAD\\AE', '--data', data], env)).stderr).toMatch(
        /AE title must be/,
      );
    } finally {
      s.proc.kill('SIGTERM');
    }
    const code = await new Promise((r) => s.proc.once('exit', r));
    expect(code).toBe(0);
    expect(s.log()).toContain('lantern stopped');
  });

  it('serve outlives associations that die in the middle of a C-STORE, and counts no fault', async () => {
    const { data, env } = await dataDir();
    const s = await startServer(['--data', data, '--dicom-port', '0', '--http-port', '0'], env);
    try {
      expect((await lantern(['ae', 'add', 'STORESCU', '--allow', 'store', '--data', data], env)).code).toBe(
        0,
      );
      const inst = synthInstance({ patientId: 'DROP', rows: 256, columns: 256 });
      const dataset = inst.bytes.subarray(parseDicom(inst.bytes, { untilPixelData: true }).datasetOffset);
      const rq = associateRq('STORESCU', [
        { id: 1, abstractSyntax: SopClass.CTImageStorage, transferSyntaxes: ['1.2.840.10008.1.2.1'] },
      ]);
      const command = encodeCommand({
        AffectedSOPClassUID: SopClass.CTImageStorage,
        CommandField: CommandField.C_STORE_RQ,
        MessageID: 1,
        Priority: 0,
        CommandDataSetType: 0,
        AffectedSOPInstanceUID: inst.sopUid,
      });
      const pdv = (command: boolean, data: Uint8Array) =>
        encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command, last: command, data }] });
      for (const end of ['reset', 'close', 'second A-ASSOCIATE-RQ'] as const) {
        const p = await RawPeer.associated(s.dicom, rq);
        p.write(pdv(true, command));
        p.write(pdv(false, dataset.subarray(0, 16000)));
        await new Promise((r) => setTimeout(r, 100));
        if (end === 'reset') p.reset();
        else if (end === 'close') p.destroy();
        else {
          p.write(encodePdu(rq));
          expect(await p.next()).toMatchObject({ type: 'A-ABORT' });
          p.destroy();
        }
      }
      const echo = await runDcmtk('echoscu', [
        '-aet',
        'STORESCU',
        '-aec',
        'LANTERN',
        '127.0.0.1',
        String(s.dicom),
      ]);
      expect(echo.code, echo.out).toBe(0);
      const health = (await (await fetch(`http://127.0.0.1:${s.http}/healthz`)).json()) as {
        instances: number;
        faults: { count: number };
      };
      expect(health).toMatchObject({ instances: 0, faults: { count: 0 } });
      expect(s.proc.exitCode).toBeNull();
    } finally {
      s.proc.kill('SIGTERM');
      await new Promise((r) => s.proc.once('exit', r));
    }
  });

  it('refuses an invalid setting with a message naming its source', async () => {
    const r = await lantern(['serve', '--data', tmp()], { LANTERN_DICOM_PORT: 'eleven' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LNT_CONFIG_INVALID: dicom.port must be a port number .*LANTERN_DICOM_PORT/);
    const bad = join(tmp(), 'c.json');
    writeFileSync(bad, JSON.stringify({ dicom: { aeTitle: 'WAY_TOO_LONG_FOR_AN_AE' } }));
    const r2 = await lantern(['serve', '--config', bad, '--data', tmp()]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/dicom.aeTitle must be 1-16/);
    writeFileSync(bad, JSON.stringify({ dicom: { aetitle: 'X' } }));
    expect((await lantern(['serve', '--config', bad])).stderr).toMatch(/unknown setting "dicom.aetitle"/);
  });

  it('AEs from the configuration file join the registry at start', async () => {
    const { data, env } = await dataDir();
    const cfg = join(tmp(), 'lantern.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        dataDir: data,
        dicom: {
          aes: [
            { aeTitle: 'CT1', host: '10.0.0.21', port: 104, allow: ['store'] },
            { aeTitle: 'WS1' },
            { aeTitle: 'PACS2', host: '10.0.0.5', port: 104 },
          ],
        },
      }),
    );
    const r = await lantern(['ae', 'list', '--config', cfg], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CT1\s+host 10.0.0.21 port 104 allow store/);
    expect(r.stdout).toMatch(
      /WS1\s+host \(any\) port - allow store,find,get,move mode people\n\s+warning: no --host/,
    );
    // A peer with a port is a move destination unless its list says otherwise, from the file or the command.
    expect(r.stdout).toMatch(/PACS2\s+host 10.0.0.5 port 104 allow store,find,get,move,destination/);
    const ws = await lantern(
      ['ae', 'add', 'WS', '--host', '10.0.0.6', '--port', '104', '--config', cfg],
      env,
    );
    expect(ws.stdout).toMatch(/WS registered: host 10.0.0.6 port 104 allow store,find,get,move,destination/);
    writeFileSync(
      cfg,
      JSON.stringify({ dataDir: data, dicom: { aes: [{ aeTitle: 'CT1', allow: ['fly'] }] } }),
    );
    expect((await lantern(['ae', 'list', '--config', cfg], env)).stderr).toMatch(/unknown permission fly/);
  });

  it('import: a report of stored, present, quarantined and rejected; exit 0 only when nothing was rejected', async () => {
    const { data, env } = await dataDir();
    const src = tmp();
    mkdirSync(join(src, 'nested', 'deeper'), { recursive: true });
    const study = uid();
    for (let i = 0; i < 5; i++) {
      const f = synthInstance({
        patientId: 'CLI1',
        patientName: 'Cli^Test',
        studyUid: study,
        instanceNumber: i + 1,
      });
      writeFileSync(join(src, i < 3 ? 'nested' : join('nested', 'deeper'), `im${i}.dcm`), f.bytes);
    }
    writeFileSync(join(src, 'notes.txt'), 'not an image');
    const conflict = synthInstance({ patientId: 'CLI1', patientName: 'Other^Name' });
    writeFileSync(join(src, 'z-conflict.dcm'), conflict.bytes);

    const first = await lantern(['import', src, '--data', data, '--no-progress', '--concurrency', '1'], env);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/stored:\s+5/);
    expect(first.stdout).toMatch(/quarantined:\s+1/);
    expect(first.stdout).toMatch(/z-conflict\.dcm: the Patient's Name differs/);
    expect(first.stdout).toMatch(/rejected:\s+1\n.*notes\.txt: LNT_DICOM_NOT_DICOM/);

    rmSync(join(src, 'notes.txt'));
    const again = await lantern(['import', src, '--data', data], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/stored:\s+0/);
    expect(again.stdout).toMatch(/already present: 5/);
    expect(again.stderr).toMatch(/importing .*MB\/s/);

    const verify = await lantern(['verify', '--data', data], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/Verified 5 objects/);
    const objects = join(data, 'storage', 'objects');
    const a = readdirSync(objects)[0];
    const file = readdirSync(join(objects, a))[0];
    writeFileSync(join(objects, a, file), 'changed');
    const bad = await lantern(['verify', '--data', data], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/mismatched: 1/);
    // One study, on demand; a UID that is not one is refused before anything opens.
    const [sop] = /(\S+) \(objects\//.exec(bad.stdout)!.slice(1);
    const db = openIndexDatabase({ dataDir: data, index: { url: env.LANTERN_INDEX_URL } });
    try {
      const row = await db
        .selectFrom('instance')
        .innerJoin('series', 'series.id', 'instance.series_fk')
        .innerJoin('study', 'study.id', 'series.study_fk')
        .select(['study.study_uid', 'instance.integrity'])
        .where('instance.sop_instance_uid', '=', sop)
        .executeTakeFirstOrThrow();
      expect(row.integrity).toBe('mismatch');
      const one = await lantern(['verify', '--study', row.study_uid, '--data', data], env);
      expect(one.code).toBe(1);
      expect(one.stdout).toMatch(/mismatched: 1/);
    } finally {
      await db.destroy();
    }
    const wrong = await lantern(['verify', '--study', 'not-a-uid', '--data', data], env);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/--study must be a Study Instance UID/);
  });

  it('importing the pydicom corpus twice stores each instance once', async () => {
    const { data, env } = await dataDir();
    const corpus = pydicomDataDir();
    // One file at a time, so that which of two conflicting files is stored first is the same in both runs.
    const args = ['import', corpus, '--data', data, '--no-progress', '--concurrency', '1'];
    const count = (out: string, what: string) => Number(new RegExp(`${what}:\\s+(\\d+)`).exec(out)![1]);
    const first = await lantern(args, env);
    const stored = count(first.stdout, 'stored');
    expect(stored).toBeGreaterThan(50);
    const second = await lantern(args, env);
    expect(count(second.stdout, 'stored')).toBe(0);
    expect(count(second.stdout, 'already present')).toBe(stored + count(first.stdout, 'already present'));
    expect(count(second.stdout, 'quarantined')).toBe(count(first.stdout, 'quarantined'));
    expect((await lantern(['verify', '--data', data], env)).stdout).toMatch(
      new RegExp(`Verified ${stored} objects`),
    );
  });
});
