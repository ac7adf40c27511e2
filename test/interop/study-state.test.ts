import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SopClass } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { CommandField, decodeCommand, encodeCommand } from '../../src/core/dimse/command.js';
import { encodePdu, type Pdu } from '../../src/core/ul/pdu.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import type { StudyState } from '../../src/services/status.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { testClock } from '../helpers/clock.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { associateRq, RawPeer } from '../helpers/raw-peer.js';
import { synthInstance, uid } from '../helpers/synth.js';

// The state a study list row shows, from real transfers: storescu completing, an association aborted after
// storing part of a study, a STOW-RS whose body breaks off, objects held in quarantine; and the stable time
// read on the archive's clock (moved by hand, from the real time).

let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const clock = testClock();
const work = mkdtempSync(join(tmpdir(), 'lantern-state-'));
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const BOUNDARY = 'state-boundary-41c2';

beforeAll(async () => {
  archive = await startTestArchive({ clock, settings: { 'storage.studyStableSeconds': 60 } });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'STORESCU',
    host: '',
    port: 0,
    permissions: ['store', 'find'],
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
});
afterEach(() => RawPeer.destroyAll());
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

async function states(...studies: string[]): Promise<Map<string, StudyState>> {
  const res = await fetch(`${base}/api/studies/state?${studies.map((s) => `study=${s}`).join('&')}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return new Map(((await res.json()) as StudyState[]).map((s) => [s.studyUid, s]));
}

/** Writes instances of one study as files and sends them with storescu in one association. */
async function storescu(studyUid: string, patientId: string, n: number, name = 'State^Study') {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(work, `${uid()}.dcm`);
    writeFileSync(f, synthInstance({ studyUid, patientId, patientName: name, instanceNumber: i + 1 }).bytes);
    files.push(f);
  }
  const r = await runDcmtk('storescu', [
    '-aet',
    'STORESCU',
    '-aec',
    'LANTERN',
    '127.0.0.1',
    String(archive.port),
    ...files,
  ]);
  expect(r.code, r.out).toBe(0);
}

function storeCommand(sopUid: string, messageId: number): Uint8Array {
  return encodeCommand({
    AffectedSOPClassUID: SopClass.CTImageStorage,
    CommandField: CommandField.C_STORE_RQ,
    MessageID: messageId,
    Priority: 0,
    CommandDataSetType: 0,
    AffectedSOPInstanceUID: sopUid,
  });
}

/** Stores one whole instance on a raw association and returns the response status. */
async function rawStore(
  p: RawPeer,
  inst: ReturnType<typeof synthInstance>,
  messageId: number,
): Promise<number> {
  const dataset = inst.bytes.subarray(parseDicom(inst.bytes, { untilPixelData: true }).datasetOffset);
  p.write(
    encodePdu({
      type: 'P-DATA-TF',
      pdvs: [{ contextId: 1, command: true, last: true, data: storeCommand(inst.sopUid, messageId) }],
    }),
  );
  p.write(
    encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: false, last: true, data: dataset }] }),
  );
  const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
  expect(rsp?.type).toBe('P-DATA-TF');
  return Number(decodeCommand(rsp.pdvs[0].data).Status);
}

async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a study state follows its transfers', () => {
  it('a completed storescu transfer: receiving, then stable once the stable time has passed', async () => {
    const study = uid();
    await storescu(study, 'STATE-OK', 3);
    const s = (
      await eventually(
        () => states(study),
        (m) => m.has(study),
      )
    ).get(study)!;
    expect(s).toMatchObject({ studyUid: study, receiving: true, quarantined: 0 });
    expect(s.incomplete).toBeUndefined();
    clock.advance(2);
    expect((await states(study)).get(study)).toMatchObject({ receiving: false, quarantined: 0 });
  });

  it('an association aborted after storing part of a study marks it incomplete; a completed resend clears it', async () => {
    const study = uid();
    const rq = associateRq('STORESCU', [
      { id: 1, abstractSyntax: SopClass.CTImageStorage, transferSyntaxes: [EXPLICIT_LE] },
    ]);
    const p = await RawPeer.associated(archive.port, rq);
    for (let i = 1; i <= 2; i++) {
      expect(
        await rawStore(
          p,
          synthInstance({ studyUid: study, patientId: 'STATE-ABORT', patientName: 'State^Study' }),
          i,
        ),
      ).toBe(0);
    }
    p.write(encodePdu({ type: 'A-ABORT', source: 0, reason: 0 }));
    const marked = await eventually(
      () => states(study),
      (m) => m.get(study)?.incomplete !== undefined,
    );
    const s = marked.get(study)!;
    expect(s.incomplete!.reason).toMatch(
      /association ended before its release \(association aborted by the peer/,
    );
    expect(Date.parse(s.incomplete!.at)).toBeGreaterThan(0);
    // The reason says how the transfer ended, never a value of the data.
    expect(s.incomplete!.reason).not.toContain('STATE-ABORT');

    await storescu(study, 'STATE-ABORT', 1);
    const cleared = await eventually(
      () => states(study),
      (m) => m.get(study)?.incomplete === undefined,
    );
    expect(cleared.get(study)).toMatchObject({ quarantined: 0 });
    expect(cleared.get(study)!.incomplete).toBeUndefined();
  });

  it('a C-STORE failing on an association marks the studies it stored into as incomplete', async () => {
    const study = uid();
    const rq = associateRq('STORESCU', [
      { id: 1, abstractSyntax: SopClass.CTImageStorage, transferSyntaxes: [EXPLICIT_LE] },
    ]);
    const p = await RawPeer.associated(archive.port, rq);
    expect(
      await rawStore(
        p,
        synthInstance({ studyUid: study, patientId: 'STATE-FAIL', patientName: 'State^Study' }),
        1,
      ),
    ).toBe(0);
    // A data set that is not one: the store fails, the association goes on.
    p.write(
      encodePdu({
        type: 'P-DATA-TF',
        pdvs: [{ contextId: 1, command: true, last: true, data: storeCommand(uid(), 2) }],
      }),
    );
    p.write(
      encodePdu({
        type: 'P-DATA-TF',
        pdvs: [{ contextId: 1, command: false, last: true, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7]) }],
      }),
    );
    const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
    expect(Number(decodeCommand(rsp.pdvs[0].data).Status)).not.toBe(0);
    p.write(encodePdu({ type: 'A-RELEASE-RQ' }));
    expect(await p.next()).toMatchObject({ type: 'A-RELEASE-RP' });
    p.destroy(); // the requestor closes the connection once released (PS3.8 AR-3)
    const s = (
      await eventually(
        () => states(study),
        (m) => m.get(study)?.incomplete !== undefined,
      )
    ).get(study)!;
    expect(s.incomplete!.reason).toBe('1 object(s) of the transfer not stored');
  });

  it('a STOW-RS whose body breaks off after a stored part marks that study incomplete', async () => {
    const study = uid();
    const inst = synthInstance({ studyUid: study, patientId: 'STATE-STOW', patientName: 'State^Study' });
    // The first part whole, then a second part whose body is malformed multipart (no closing boundary).
    const body = Buffer.concat([
      Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`),
      inst.bytes,
      Buffer.from(`\r\n--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`),
      Buffer.from('truncated'),
    ]);
    const res = await fetch(`${base}/dicom-web/studies`, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`,
        Accept: 'application/dicom+json',
      },
      body,
    });
    expect(res.status).toBe(400);
    const s = (
      await eventually(
        () => states(study),
        (m) => m.get(study)?.incomplete !== undefined,
      )
    ).get(study)!;
    expect(s.incomplete!.reason).toMatch(/the request ended before its body did \(LNT_HTTP_BAD_REQUEST\)/);
    expect(await archive.app.index.findInstance(inst.sopUid)).toBeDefined();
  });

  it('objects held in quarantine are counted on their study, and reading the list is audited', async () => {
    const study = uid();
    await storescu(study, 'STATE-Q', 2, 'Quarantine^First');
    // Same Patient ID, another name: held back in quarantine (acknowledged with a warning).
    await storescu(study, 'STATE-Q', 1, 'Quarantine^Other');
    const s = (
      await eventually(
        () => states(study),
        (m) => m.get(study)?.quarantined === 1,
      )
    ).get(study)!;
    expect(s).toMatchObject({ quarantined: 1 });
    // A study only quarantine knows of is listed too (nothing of it in the index).
    const lonely = uid();
    await storescu(lonely, 'STATE-Q', 1, 'Quarantine^Other');
    const only = (await states(lonely)).get(lonely)!;
    expect(only).toMatchObject({ quarantined: 1, receiving: false });
    expect(only.lastReceivedAt).toBeUndefined();

    const before = (await archive.app.audit.list({ eventId: '110103' }, 1000, 0)).length;
    const list = await fetch(`${base}/api/quarantine`);
    expect(list.status).toBe(200);
    const records = (await list.json()) as { studyUid: string }[];
    expect(records.map((q) => q.studyUid)).toEqual(expect.arrayContaining([study, lonely]));
    const after = await archive.app.audit.list({ eventId: '110103' }, 1000, 0);
    expect(after.length).toBe(before + 1);
    const read = after.find((e) => e.event.outcomeDescription?.startsWith('quarantine list'))!;
    expect(read.event.objects?.map((o) => o.id)).toEqual(expect.arrayContaining(['STATE-Q', study, lonely]));
  });

  it('refuses what is not a list of UIDs, too many at once, and answers nothing for unknown studies', async () => {
    expect((await fetch(`${base}/api/studies/state?study=1.2.3,not-a-uid`)).status).toBe(400);
    expect((await fetch(`${base}/api/studies/state?study=${'1.'.repeat(40)}1`)).status).toBe(400);
    const many = Array.from({ length: 201 }, (_, i) => `1.2.${i + 1}`).join(',');
    const res = await fetch(`${base}/api/studies/state?study=${many}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/at most 200 studies/);
    expect(await (await fetch(`${base}/api/studies/state?study=1.2.3.4.5`)).json()).toEqual([]);
    expect(await (await fetch(`${base}/api/studies/state`)).json()).toEqual([]);
  });
});
