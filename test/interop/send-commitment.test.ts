import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/core/dimse/status.js';
import type { InstanceRow } from '../../src/ports/archive-index.js';
import type { StoreDestination } from '../../src/ports/dicom-sender.js';
import type { Party } from '../../src/services/clinical-audit.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { freePort, startDcmtkServer } from '../helpers/dcmtk.js';
import { startOrthanc, type TestOrthanc } from '../helpers/orthanc.js';
import { synthInstance, uid } from '../helpers/synth.js';

/**
 * Sending with storage commitment (the send service over the network sender): to a second Lantern, which
 * reports on the request's own association, and to Orthanc, which reports on a new association to our
 * listener. The destination says which instances it holds; an instance it does not hold is a failure, an
 * AE that does not offer storage commitment is an association error.
 */
let a: TestArchive;
let b: TestArchive;
let orthanc: TestOrthanc;
let storescp: ChildProcess;
let storescpPort: number;
const scpDir = mkdtempSync(join(tmpdir(), 'lantern-storescp-'));
const studyUid = uid();
let rows: InstanceRow[];
let unsent: InstanceRow;
const by: Party = { kind: 'os-user', user: 'test' };

const destination = (aeTitle: string, port: number): StoreDestination => ({
  aeTitle,
  host: '127.0.0.1',
  port,
});

async function sendAll(from: TestArchive, to: StoreDestination, instances: readonly InstanceRow[]) {
  let last;
  for await (const p of from.app.send.send(to, instances, {
    callingAeTitle: from.app.config.dicom.aeTitle,
    by,
  }))
    last = p;
  expect(last?.counts.completed).toBe(instances.length);
}

beforeAll(async () => {
  a = await startTestArchive();
  b = await startTestArchive({ settings: { 'dicom.aeTitle': 'LANTERN_B' } });
  const aTitle = a.app.config.dicom.aeTitle;
  orthanc = await startOrthanc([{ aeTitle: aTitle, host: '127.0.0.1', port: a.port }]);
  storescpPort = await freePort();
  storescp = await startDcmtkServer(
    'storescp',
    ['-od', scpDir, '-aet', 'STORESCP', String(storescpPort)],
    storescpPort,
  );
  await a.app.aes.add({
    mode: 'device',
    aeTitle: 'LANTERN_B',
    host: '127.0.0.1',
    port: b.port,
    permissions: ['destination'],
  });
  // The peers know the sender: B admits it and could report to it; Orthanc reports on a new association.
  await b.app.aes.add({
    mode: 'device',
    aeTitle: aTitle,
    host: '127.0.0.1',
    port: a.port,
    permissions: ['store'],
  });
  await a.app.aes.add({
    mode: 'device',
    aeTitle: orthanc.aeTitle,
    host: '127.0.0.1',
    port: orthanc.dicomPort,
    permissions: ['destination'],
  });
  for (let n = 1; n <= 4; n++) {
    const i = synthInstance({ patientId: 'SCU1', patientName: 'Commit^Sent', studyUid, instanceNumber: n });
    expect((await a.app.ingest.ingest({ chunks: [i.bytes] })).status).toBe('stored');
  }
  const all = await a.app.index.instancesByUid({ study: studyUid });
  rows = all.slice(0, 3);
  unsent = all[3];
}, 60_000);

afterAll(async () => {
  storescp?.kill('SIGKILL');
  await orthanc?.stop();
  await b?.close();
  await a?.close();
  rmSync(scpDir, { recursive: true, force: true });
});

describe('sending with storage commitment', () => {
  it('to another Lantern: the instances sent are committed, one never sent fails as not stored', async () => {
    const to = destination('LANTERN_B', b.port);
    await sendAll(a, to, rows);
    const outcome = await a.app.send.commit(to, [...rows, unsent], {
      callingAeTitle: a.app.config.dicom.aeTitle,
      timeoutMs: 30_000,
    });
    expect(outcome.requestStatus).toBe(Status.Success);
    expect(outcome.transactionUid).toMatch(/^2\.25\.\d+$/);
    expect(outcome.committed.map((r) => r.sopInstanceUid)).toEqual(rows.map((r) => r.sopInstanceUid));
    expect(outcome.failed).toEqual([{ instance: unsent, reason: Status.NoSuchSopInstance }]);
    expect(outcome.unanswered).toEqual([]);
  });

  it('to Orthanc: the report comes on a new association to our listener', async () => {
    const to = destination(orthanc.aeTitle, orthanc.dicomPort);
    await sendAll(a, to, rows);
    expect(((await orthanc.get('/instances')) as string[]).length).toBe(3);
    const outcome = await a.app.send.commit(to, [...rows, unsent], {
      callingAeTitle: a.app.config.dicom.aeTitle,
      timeoutMs: 30_000,
    });
    expect(outcome.requestStatus).toBe(Status.Success);
    expect(outcome.committed.map((r) => r.sopInstanceUid)).toEqual(rows.map((r) => r.sopInstanceUid));
    expect(outcome.failed.map((f) => f.instance.sopInstanceUid)).toEqual([unsent.sopInstanceUid]);
    expect(outcome.unanswered).toEqual([]);
  });

  it('an AE without storage commitment is an association error, and nothing waits', async () => {
    const to = destination('STORESCP', storescpPort);
    await expect(
      a.app.send.commit(to, rows, { callingAeTitle: a.app.config.dicom.aeTitle, timeoutMs: 30_000 }),
    ).rejects.toMatchObject({ code: 'LNT_DIMSE_ASSOCIATION' });
  });
});
