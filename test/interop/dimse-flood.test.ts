import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePdu } from '../../src/core/ul/pdu.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { associateRq, RawPeer } from '../helpers/raw-peer.js';

// An association flood must not lock legitimate peers out: connections that have not associated have
// their own budget (the oldest goes when it is full), a deadline for the whole A-ASSOCIATE-RQ (ARTIM), and
// a budget per address; only associations count against dicom.maxAssociations, and over that cap a caller
// gets an A-ASSOCIATE-RJ. The flood runs in its own process, as an attacker's would.

let archive: TestArchive;
let flood: ChildProcess | undefined;
const MAX_PENDING = 64;
const MAX_ASSOCIATIONS = 4;

beforeAll(async () => {
  archive = await startTestArchive({
    maxAssociations: MAX_ASSOCIATIONS,
    artimMs: 5000,
    settings: { 'dicom.maxPendingAssociations': MAX_PENDING, 'dicom.maxPendingPerAddress': 8 },
  });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'MODALITY',
    host: '',
    port: 0,
    permissions: ['store', 'find'],
  });
});
afterAll(async () => {
  flood?.kill('SIGKILL');
  RawPeer.destroyAll();
  await archive?.close();
});

/** DCMTK with its own 2 s deadlines for connecting, associating and each response: late is failed. */
const deadline = ['-to', '2', '-ta', '2', '-td', '2'];
const host = () => ['127.0.0.1', String(archive.port)];

function connections(): Promise<number> {
  return new Promise((ok, fail) => archive.server.servers[0].getConnections((e, n) => (e ? fail(e) : ok(n))));
}

describe('an association flood', () => {
  it('120 connections (100 silent, 20 trickling an A-ASSOCIATE-RQ) do not keep echoscu or findscu out', async () => {
    const rq = Buffer.from(encodePdu(associateRq('MODALITY'))).toString('hex');
    flood = spawn(
      process.execPath,
      [resolve(import.meta.dirname, '../helpers/dicom-flood.mjs'), String(archive.port), '100', '20'],
      { env: { ...process.env, FLOOD_RQ_HEX: rq }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let last = { open: 0, closedByServer: 0 };
    flood.stdout!.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      last = JSON.parse(lines[lines.length - 1]) as typeof last;
    });
    // The flood is under way: the server holds as many of its connections as its budget allows, and is
    // closing the oldest to make room.
    const until = Date.now() + 10_000;
    while (last.closedByServer < 100 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(last.closedByServer).toBeGreaterThanOrEqual(100);
    expect(last.open).toBeGreaterThanOrEqual(MAX_PENDING - 8);
    const rss = process.memoryUsage().rss;
    let most = 0;
    for (let round = 0; round < 4; round++) {
      const echo = await runDcmtk('echoscu', [...deadline, '-aet', 'MODALITY', '-aec', 'LANTERN', ...host()]);
      expect(echo.code, echo.out).toBe(0);
      const find = await runDcmtk('findscu', [
        ...deadline,
        '-S',
        '-aet',
        'MODALITY',
        '-aec',
        'LANTERN',
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        'PatientID=FLOOD*',
        ...host(),
      ]);
      expect(find.code, find.out).toBe(0);
      most = Math.max(most, await connections());
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Bounded: the server never holds more than its budgets, and its memory does not grow with the flood.
    expect(most).toBeLessThanOrEqual(MAX_PENDING + MAX_ASSOCIATIONS);
    expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 * 1024);
    flood.kill('SIGKILL');
    flood = undefined;
  });

  it('over the association cap, a caller gets A-ASSOCIATE-RJ (transient, local limit exceeded)', async () => {
    const held = await Promise.all(
      Array.from({ length: MAX_ASSOCIATIONS }, () =>
        RawPeer.associated(archive.port, associateRq('MODALITY')),
      ),
    );
    const extra = await RawPeer.open(archive.port);
    extra.write(encodePdu(associateRq('MODALITY')));
    expect(await extra.next()).toMatchObject({ type: 'A-ASSOCIATE-RJ', result: 2, source: 3, reason: 2 });
    const echo = await runDcmtk('echoscu', [...deadline, '-aet', 'MODALITY', '-aec', 'LANTERN', ...host()]);
    expect(echo.code).not.toBe(0);
    expect(echo.out).toMatch(/Local Limit Exceeded/i);
    held.forEach((p) => p.destroy());
    await new Promise((r) => setTimeout(r, 100));
    const again = await runDcmtk('echoscu', [...deadline, '-aet', 'MODALITY', '-aec', 'LANTERN', ...host()]);
    expect(again.code, again.out).toBe(0);
  });

  it('a connection that is not associated closes after the ARTIM deadline, however it trickles', async () => {
    const p = await RawPeer.open(archive.port);
    const bytes = encodePdu(associateRq('MODALITY'));
    let sent = 0;
    const timer = setInterval(() => p.write(bytes.subarray(sent, ++sent)), 200);
    try {
      expect(await p.waitClosed(8000)).toBe(true);
      expect(sent).toBeLessThan(bytes.length);
    } finally {
      clearInterval(timer);
    }
  });
});
