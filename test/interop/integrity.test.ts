import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { freePort, runDcmtk, startDcmtkServer } from '../helpers/dcmtk.js';
import { synthInstance, uid } from '../helpers/synth.js';

/**
 * Integrity verification (docs/operations.md, "Integrity"): a byte flipped in a stored object is found by
 * the verifier (on demand and in the background), recorded, alerted, and the object is refused from then on
 * with LNT_OBJECT_DAMAGED by every way out of the archive (WADO-RS, frames, rendered, WADO-URI, C-GET), the
 * rest of its study still served; restored, it is served again.
 */
let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-integrity-'));
const study = uid();
const series = uid();
const made = [1, 2, 3].map((n) =>
  synthInstance({
    patientId: 'INTEG-1',
    patientName: 'Whole^Wanda',
    studyUid: study,
    seriesUid: series,
    instanceNumber: n,
    rows: 16,
    columns: 16,
  }),
);
const [bad, good, later] = made;

beforeAll(async () => {
  archive = await startTestArchive({ settings: { 'storage.verifyMBps': 1000 } });
  for (const m of made)
    expect((await archive.app.ingest.ingest({ chunks: [m.bytes] })).status).toBe('stored');
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'GETTER',
    host: '',
    port: 0,
    permissions: ['get', 'move'],
  });
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The stored file of an instance, and the bytes it had. */
async function stored(sop: string): Promise<{ path: string; original: Buffer }> {
  const row = (await archive.app.index.findInstance(sop))!;
  const path = join(archive.dir, 'storage', row.blobKey);
  return { path, original: readFileSync(path) };
}

function flipLastByte(path: string, original: Buffer): void {
  const changed = Buffer.from(original);
  changed[changed.length - 1] ^= 0x01;
  writeFileSync(path, changed);
}

const dicomweb = (path: string, accept = 'multipart/related; type="application/dicom"') =>
  fetch(`${base}/dicom-web${path}`, { headers: { Accept: accept } });
const instancePath = (sop: string) => `/studies/${study}/series/${series}/instances/${sop}`;

async function securityAlerts(): Promise<{ outcome: number; text: string; named: string[] }[]> {
  return (await archive.app.audit.list({ eventId: '110113' }, 100, 0))
    .map((r) => r.event)
    .filter((e) => e.outcomeDescription?.startsWith('integrity check'))
    .map((e) => ({
      outcome: e.outcome,
      text: e.outcomeDescription!,
      named: e.objects!.flatMap((o) => (o.sopClasses ?? []).flatMap((c) => c.instanceUids ?? [])),
    }));
}

describe('integrity verification', () => {
  it('a flipped byte is found on demand, alerted, and the object refused everywhere; the rest is served', async () => {
    const { path, original } = await stored(bad.sopUid);
    flipLastByte(path, original);

    const check = await fetch(`${base}/api/studies/${study}/verify`, { method: 'POST' });
    expect(check.status).toBe(200);
    expect(await check.json()).toEqual({
      checked: 3,
      bytes: expect.any(Number) as number,
      damaged: [{ sopInstanceUid: bad.sopUid, detail: 'SHA-256 differs from the recorded digest' }],
    });
    const alerts = await securityAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ outcome: 8, named: [bad.sopUid] });
    const damaged = (await (await fetch(`${base}/api/storage/damaged`)).json()) as {
      sopInstanceUid: string;
    }[];
    expect(damaged.map((d) => d.sopInstanceUid)).toEqual([bad.sopUid]);

    // Refused with a clear error, never sent as if it were good.
    for (const [path, accept] of [
      [instancePath(bad.sopUid), undefined],
      [`${instancePath(bad.sopUid)}/frames/1`, 'multipart/related; type="application/octet-stream"'],
      [`${instancePath(bad.sopUid)}/rendered`, 'image/jpeg'],
    ] as const) {
      const r = await dicomweb(path, accept);
      expect(r.status, path).toBe(500);
      expect(await r.json(), path).toMatchObject({ code: 'LNT_OBJECT_DAMAGED' });
    }
    const uri = await fetch(
      `${base}/wado?requestType=WADO&studyUID=${study}&seriesUID=${series}&objectUID=${bad.sopUid}&contentType=application/dicom`,
    );
    expect(uri.status).toBe(500);
    expect(((await uri.json()) as { code: string }).code).toBe('LNT_OBJECT_DAMAGED');

    // The study: the two whole objects, a partial answer that says why.
    const whole = await dicomweb(`/studies/${study}`);
    expect(whole.status).toBe(206);
    expect(whole.headers.get('warning')).toMatch(
      /^299 lantern "1 instance\(s\) not returned: damaged in storage/,
    );
    const body = Buffer.from(await whole.arrayBuffer());
    expect(body.includes(Buffer.from(good.sopUid))).toBe(true);
    expect(body.includes(Buffer.from(later.sopUid))).toBe(true);
    expect(body.includes(Buffer.from(bad.sopUid))).toBe(false);
    // Its metadata is the index's copy, not the damaged file: still answered.
    expect((await dicomweb(`/studies/${study}/metadata`, 'application/dicom+json')).status).toBe(200);

    // C-GET: the damaged object is a failed sub-operation, the others arrive.
    const out = mkdtempSync(join(work, 'get-'));
    const get = await runDcmtk('getscu', [
      '-v',
      '-S',
      '-aet',
      'GETTER',
      '-aec',
      'LANTERN',
      '-od',
      out,
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      '127.0.0.1',
      String(archive.port),
    ]);
    expect(get.out).toMatch(/Number of Completed Suboperations\s*:\s*2/);
    expect(get.out).toMatch(/Number of Failed Suboperations\s*:\s*1/);
    expect(readdirSync(out)).toHaveLength(2);
    // C-MOVE to a storescp: the same.
    const dest = mkdtempSync(join(work, 'move-'));
    const destPort = await freePort();
    const storescp = await startDcmtkServer(
      'storescp',
      ['-aet', 'INTEGDEST', '-od', dest, String(destPort)],
      destPort,
    );
    try {
      await archive.app.aes.add({
        mode: 'device',
        aeTitle: 'INTEGDEST',
        host: '127.0.0.1',
        port: destPort,
        permissions: ['destination'],
      });
      const move = await runDcmtk('movescu', [
        '-v',
        '-S',
        '-aet',
        'GETTER',
        '-aec',
        'LANTERN',
        '-aem',
        'INTEGDEST',
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        `StudyInstanceUID=${study}`,
        '127.0.0.1',
        String(archive.port),
      ]);
      expect(move.out).toMatch(/Final Move Response \(Warning: SubOperationsCompleteOneOrMoreFailures\)/);
      expect(readdirSync(dest)).toHaveLength(2);
    } finally {
      storescp.kill();
    }

    // Restored from a backup and checked again: whole, served again, and that is recorded too.
    writeFileSync(path, original);
    const again = await fetch(`${base}/api/studies/${study}/verify`, { method: 'POST' });
    expect(((await again.json()) as { damaged: unknown[] }).damaged).toEqual([]);
    expect((await dicomweb(instancePath(bad.sopUid))).status).toBe(200);
    expect((await dicomweb(`/studies/${study}`)).status).toBe(200);
    const [restored] = await securityAlerts();
    expect(restored).toMatchObject({ outcome: 0, named: [bad.sopUid] });
  });

  it('the background pass finds a missing file by itself', async () => {
    const { path } = await stored(later.sopUid);
    rmSync(path);
    await archive.app.jobs.schedule();
    archive.app.jobs.start();
    try {
      await expect
        .poll(
          async () =>
            (await archive.app.index.damagedInstances(0, 10)).map((r) => [r.sopInstanceUid, r.integrity]),
          {
            timeout: 20_000,
          },
        )
        .toEqual([[later.sopUid, 'missing']]);
    } finally {
      await archive.app.jobs.stop();
    }
    const r = await dicomweb(instancePath(later.sopUid));
    expect(r.status).toBe(500);
    expect(((await r.json()) as { message: string }).message).toMatch(/file missing/);
  });
});
