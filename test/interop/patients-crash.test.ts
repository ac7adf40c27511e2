import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getString } from '../../src/core/dicom/values.js';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/main.js';
import { synthInstance, uid } from '../helpers/synth.js';
import { createTestIndex, openIndexDatabase, type TestIndexDatabase } from '../helpers/test-index.js';

/**
 * A merge killed (SIGKILL) in the middle of rewriting the stored objects, then `lantern serve` started: the
 * start carries the merge out, and the archive is consistent: every object under the patient kept, each
 * file holding that patient's demographics and matching what the index recorded, the counts right, nothing
 * left marked (docs/patients.md).
 */
const bin = resolve(import.meta.dirname, '../../bin/lantern.js');
const work = mkdtempSync(join(tmpdir(), 'lantern-merge-crash-'));
const data = join(work, 'data');
const COUNT = 120;
let index: TestIndexDatabase;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  index = await createTestIndex();
  env = { ...process.env, ...index.env, LANTERN_LOG_LEVEL: 'warn' };
  const app = await createApp(
    loadConfig({ env: {}, flags: { dataDir: data, ...(index.url ? { 'index.url': index.url } : {}) } }),
    pino({ level: 'silent' }),
  );
  try {
    const studies = [uid(), uid()];
    for (let i = 0; i < COUNT; i++) {
      const inst = synthInstance({
        patientId: 'GONE-1',
        patientName: 'WONG^KA WAI',
        birthDate: '19750505',
        studyUid: studies[i % 2],
        instanceNumber: i + 1,
        rows: 128,
        columns: 128,
      });
      expect((await app.ingest.ingest({ chunks: [inst.bytes] })).status).toBe('stored');
    }
    const kept = synthInstance({
      patientId: 'KEPT-1',
      patientName: 'WONG^KA-WAI',
      birthDate: '19750505',
      phone: '61234567',
    });
    expect((await app.ingest.ingest({ chunks: [kept.bytes] })).status).toBe('stored');
  } finally {
    await app.close();
  }
}, 120_000);
afterAll(async () => {
  await index.drop();
  rmSync(work, { recursive: true, force: true });
});

function run(args: string[], level = 'warn'): ChildProcess {
  return spawn('node', [bin, ...args, '--data', data], {
    env: { ...env, LANTERN_LOG_LEVEL: level },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('a merge killed midway', () => {
  it('is carried out by the next start, and leaves a consistent archive', async () => {
    const merge = run([
      'patient',
      'merge',
      'GONE-1',
      '--id',
      'name=Wong Ka Wai',
      '--id',
      'birthDate=1975-05-05',
      '--into',
      'KEPT-1',
      '--into-id',
      'phone=61234567',
      '--into-id',
      'birthDate=19750505',
    ]);
    let out = '';
    merge.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    merge.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => merge.once('exit', r));
    // Killed once some objects have their new file, before all have.
    const db = openIndexDatabase({ dataDir: data, index: { url: index.url } });
    try {
      for (let i = 0; i < 600; i++) {
        const prepared = await sql<{ n: number }>`select count(*) as n from change_item where blob_key <> ''`
          .execute(db)
          .catch(() => ({ rows: [{ n: 0 }] }));
        if (Number(prepared.rows[0]?.n) > 5) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await db.destroy();
    }
    merge.kill('SIGKILL');
    await exited;
    expect(out).not.toMatch(/merge: done/);

    // The next start carries it out before serving.
    const serve = run(['serve', '--dicom-port', '0', '--http-port', '0'], 'info');
    let log = '';
    await new Promise<void>((ok, fail) => {
      const seen = (d: Buffer) => {
        log += d.toString();
        if (log.includes('lantern started')) ok();
      };
      serve.stdout!.on('data', seen);
      serve.stderr!.on('data', seen);
      serve.once('exit', (code) => fail(new Error(`serve exited ${code}: ${log.slice(-2000)}`)));
    });
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));

    const check = openIndexDatabase({ dataDir: data, index: { url: index.url } });
    try {
      const changes = await check.selectFrom('change').select(['state']).execute();
      expect(changes.map((c) => c.state)).toEqual(['done']);
      const patients = await check
        .selectFrom('patient')
        .select(['patient_id', 'num_studies', 'num_instances', 'changing'])
        .execute();
      expect(
        patients.map((p) => [
          p.patient_id,
          Number(p.num_studies),
          Number(p.num_instances),
          Number(p.changing),
        ]),
      ).toEqual([['KEPT-1', 3, COUNT + 1, 0]]);
      const rows = await check.selectFrom('instance').select(['blob_key', 'size', 'sha256']).execute();
      expect(rows).toHaveLength(COUNT + 1);
      for (const r of rows) {
        const bytes = readFileSync(join(data, 'storage', r.blob_key));
        expect(bytes.length).toBe(Number(r.size));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha256);
        const ds = parseDicom(bytes).dataset;
        expect([getString(ds, Tag.PatientID), getString(ds, Tag.PatientName)]).toEqual([
          'KEPT-1',
          'WONG^KA-WAI',
        ]);
      }
      // Every replaced file is kept, as a version.
      const versions = await check.selectFrom('instance_version').select('blob_key').execute();
      expect(versions).toHaveLength(COUNT);
      for (const v of versions)
        expect(readFileSync(join(data, 'storage', v.blob_key)).length).toBeGreaterThan(0);
    } finally {
      await check.destroy();
    }
  }, 120_000);
});
