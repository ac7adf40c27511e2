import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SopClass } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { CommandField, decodeCommand, encodeCommand } from '../../src/core/dimse/command.js';
import { encodePdu, type Pdu } from '../../src/core/ul/pdu.js';
import { Association } from '../../src/net/dimse/association.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { DCMTK_ENV, runDcmtk } from '../helpers/dcmtk.js';
import { fakeScp } from '../helpers/fake-scp.js';
import { holdingProxy } from '../helpers/proxy.js';
import { associateRq, RawPeer } from '../helpers/raw-peer.js';
import { leftoverTemp } from '../helpers/storage.js';
import { synthInstance } from '../helpers/synth.js';

// Associations that end in the middle of a C-STORE (a modality switched off, a network drop, a peer that
// breaks the protocol) must end only themselves: the object is abandoned (no temporary file, nothing in the
// index), and the archive goes on serving every other association. The archive runs in this process, so an
// unhandled rejection or an uncaught exception fails the run.

let archive: TestArchive;
const work = mkdtempSync(join(tmpdir(), 'lantern-resilience-'));
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const CT_CONTEXT = { id: 1, abstractSyntax: SopClass.CTImageStorage, transferSyntaxes: [EXPLICIT_LE] };
const ECHO_CONTEXT = { id: 3, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] };

beforeAll(async () => {
  archive = await startTestArchive({ maxAssociations: 8, artimMs: 1000 });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'STORESCU',
    host: '',
    port: 0,
    permissions: ['store', 'find'],
  });
});
afterEach(() => RawPeer.destroyAll());
afterAll(async () => {
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

const storage = () => join(archive.dir, 'storage');
const host = () => ['127.0.0.1', String(archive.port)];

/** A CT instance as the data set bytes a C-STORE carries (explicit VR little endian, no meta header). */
function instance(patientId: string, rows = 64) {
  const s = synthInstance({ patientId, patientName: 'Resil^Ience', rows, columns: rows });
  const dataset = s.bytes.subarray(parseDicom(s.bytes, { untilPixelData: true }).datasetOffset);
  return { ...s, dataset };
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

function pdata(contextId: number, command: boolean, last: boolean, data: Uint8Array): Uint8Array {
  return encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId, command, last, data }] });
}

/** Sends a C-STORE's command and the first `part` bytes of its data set, in PDVs of 16 KiB at most. */
function startStore(p: RawPeer, inst: ReturnType<typeof instance>, part: number, messageId = 1): void {
  p.write(pdata(1, true, true, storeCommand(inst.sopUid, messageId)));
  for (let o = 0; o < part; o += 16000) {
    const end = Math.min(part, o + 16000);
    p.write(pdata(1, false, end === inst.dataset.length, inst.dataset.subarray(o, end)));
  }
}

/** Sends the rest of a data set started with startStore and returns the C-STORE response's status. */
async function finishStore(p: RawPeer, inst: ReturnType<typeof instance>, from: number): Promise<number> {
  for (let o = from; o < inst.dataset.length; o += 16000) {
    const end = Math.min(inst.dataset.length, o + 16000);
    p.write(pdata(1, false, end === inst.dataset.length, inst.dataset.subarray(o, end)));
  }
  const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
  expect(rsp?.type).toBe('P-DATA-TF');
  return Number(decodeCommand(rsp.pdvs[0].data).Status);
}

const storeRq = () => associateRq('STORESCU', [CT_CONTEXT, ECHO_CONTEXT]);

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What must hold after an association died in the middle of storing `sopUid`: the archive answers echoscu,
 * the object is not in the index, no temporary file is left, and `bystander` (an association storing at the
 * same time) completes its store.
 */
async function expectUnharmed(
  sopUid: string,
  bystander: { peer: RawPeer; inst: ReturnType<typeof instance>; sent: number },
): Promise<void> {
  expect(await finishStore(bystander.peer, bystander.inst, bystander.sent)).toBe(0);
  bystander.peer.write(encodePdu({ type: 'A-RELEASE-RQ' }));
  expect(await bystander.peer.next()).toMatchObject({ type: 'A-RELEASE-RP' });
  expect(await archive.app.index.findInstance(bystander.inst.sopUid)).toBeDefined();
  const echo = await runDcmtk('echoscu', ['-aet', 'STORESCU', '-aec', 'LANTERN', ...host()]);
  expect(echo.code, echo.out).toBe(0);
  expect(await archive.app.index.findInstance(sopUid)).toBeUndefined();
  await until('the abandoned temporary file is removed', () => leftoverTemp(storage()).length === 0);
}

/** An association with a C-STORE half sent, to go on storing while another one fails. */
async function bystander() {
  const peer = await RawPeer.associated(archive.port, storeRq());
  const inst = instance('BYSTANDER');
  const sent = Math.floor(inst.dataset.length / 2);
  startStore(peer, inst, sent);
  return { peer, inst, sent };
}

describe('an association that ends during a C-STORE ends alone', () => {
  it('a storescu killed (SIGKILL) in the middle of a large object', async () => {
    const big = join(work, 'big.dcm');
    const inst = instance('KILLED', 3000); // 18 MB of pixel data
    writeFileSync(big, inst.bytes);
    const other = await bystander();
    const proxy = await holdingProxy(archive.port, 4 * 1024 * 1024);
    try {
      const storescu = spawn(
        'storescu',
        ['-aet', 'STORESCU', '-aec', 'LANTERN', '127.0.0.1', String(proxy.port), big],
        { env: DCMTK_ENV, stdio: 'ignore' },
      );
      const exited = new Promise((r) => storescu.once('exit', r));
      await proxy.held;
      // Part of the object is on its way to the archive's storage area when the sender dies.
      await until('the object is being received', () => leftoverTemp(storage()).length > 0);
      storescu.kill('SIGKILL');
      await exited;
      await expectUnharmed(inst.sopUid, other);
    } finally {
      await proxy.close();
    }
  });

  it('a connection closed (reset) after a partial P-DATA', async () => {
    const other = await bystander();
    const p = await RawPeer.associated(archive.port, storeRq());
    const inst = instance('PARTIAL');
    startStore(p, inst, 20000);
    await until('the object is being received', () => leftoverTemp(storage()).length > 0);
    p.reset();
    await expectUnharmed(inst.sopUid, other);
  });

  it('a connection closed (FIN) after a partial P-DATA', async () => {
    const other = await bystander();
    const p = await RawPeer.associated(archive.port, storeRq());
    const inst = instance('PARTIALFIN');
    startStore(p, inst, 20000);
    await until('the object is being received', () => leftoverTemp(storage()).length > 0);
    p.destroy();
    await expectUnharmed(inst.sopUid, other);
  });

  it('an A-ASSOCIATE-RQ in the middle of a C-STORE gets an A-ABORT', async () => {
    const other = await bystander();
    const p = await RawPeer.associated(archive.port, storeRq());
    const inst = instance('SECONDRQ');
    startStore(p, inst, 20000);
    p.write(encodePdu(storeRq()));
    expect(await p.next()).toMatchObject({ type: 'A-ABORT', source: 2 });
    expect(await p.waitClosed()).toBe(true);
    await expectUnharmed(inst.sopUid, other);
  });

  for (const off of [1, -1]) {
    it(`a PDV whose length is one byte ${off > 0 ? 'more' : 'less'} than its PDU holds gets an A-ABORT`, async () => {
      const other = await bystander();
      const p = await RawPeer.associated(archive.port, storeRq());
      const inst = instance(off > 0 ? 'PDVLONG' : 'PDVSHORT');
      startStore(p, inst, 20000);
      const bad = Buffer.from(pdata(1, false, false, inst.dataset.subarray(20000, 30000)));
      bad.writeUInt32BE(bad.readUInt32BE(6) + off, 6); // the PDV item length
      p.write(bad);
      expect(await p.next()).toMatchObject({ type: 'A-ABORT', source: 2 });
      expect(await p.waitClosed()).toBe(true);
      await expectUnharmed(inst.sopUid, other);
    });
  }

  it('many associations dying at random points of their stores leave the archive consistent', async () => {
    const other = await bystander();
    const dir = join(work, 'parallel');
    mkdirSync(dir);
    for (let i = 0; i < 20; i++)
      writeFileSync(
        join(dir, `f${i}.dcm`),
        synthInstance({ patientId: 'ALONGSIDE', instanceNumber: i }).bytes,
      );
    const alongside = runDcmtk('storescu', ['-aet', 'STORESCU', '-aec', 'LANTERN', '+sd', ...host(), dir]);
    const victims = await Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        const p = await RawPeer.associated(archive.port, storeRq());
        const inst = instance(`VICTIM${k}`);
        startStore(p, inst, 1000 + k * 3000);
        if (k % 3 === 0) p.reset();
        else if (k % 3 === 1) p.destroy();
        else p.write(encodePdu(storeRq()));
        return inst.sopUid;
      }),
    );
    const r = await alongside;
    expect(r.code, r.out).toBe(0);
    for (const uid of victims) expect(await archive.app.index.findInstance(uid)).toBeUndefined();
    await expectUnharmed(victims[0], other);
  });
});

describe('peers that go quiet, release too early or answer garbage', () => {
  let quick: TestArchive;
  const IDLE_MS = 1500;
  beforeAll(async () => {
    quick = await startTestArchive({ idleMs: IDLE_MS, artimMs: 1000 });
    await quick.app.aes.add({
      mode: 'device',
      aeTitle: 'STORESCU',
      host: '',
      port: 0,
      permissions: ['store', 'move'],
    });
  });
  afterAll(async () => {
    await quick?.close();
  });
  const quickStorage = () => join(quick.dir, 'storage');

  it('a peer announcing a maximum PDU length below 1 KiB is refused at association, not served in fragments', async () => {
    for (const [max, accepted] of [
      [2, false],
      [1023, false],
      [1024, true],
      [0, true], // no limit
    ] as const) {
      const p = await RawPeer.open(quick.port);
      const rq = associateRq();
      p.write(encodePdu({ ...rq, userInformation: { ...rq.userInformation, maxPduLength: max } }));
      const answer = await p.next();
      p.destroy();
      if (accepted) expect(answer?.type, String(max)).toBe('A-ASSOCIATE-AC');
      else
        expect(answer, String(max)).toMatchObject({
          type: 'A-ASSOCIATE-RJ',
          result: 1,
          source: 1,
          reason: 1,
        });
    }
  });

  it('a flood of refused associations yields bounded Security Alerts', async () => {
    const refusedAlerts = async () =>
      (await quick.app.audit.list({ eventId: '110113', outcome: 4 }, 1000, 0)).filter((r) =>
        (r.event.outcomeDescription ?? '').startsWith('association refused:'),
      ).length;
    const before = await refusedAlerts();
    for (let i = 0; i < 40; i++) {
      const p = await RawPeer.open(quick.port);
      p.write(encodePdu(associateRq(`NOBODY${i % 4}`)));
      expect((await p.next())?.type).toBe('A-ASSOCIATE-RJ');
      p.destroy();
    }
    // One source address, one kind: one record in the window (the rest counted into the next).
    expect((await refusedAlerts()) - before).toBeLessThanOrEqual(1);
  });

  it('an SCP answering with a maximum PDU length below 1 KiB is aborted by our requestor', async () => {
    const scp = await fakeScp('silent', 16);
    try {
      await expect(
        Association.connect({
          host: '127.0.0.1',
          port: scp.port,
          callingAeTitle: 'LANTERN',
          calledAeTitle: 'TINYPDU',
          contexts: [{ abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
          implementationClassUid: '2.25.1',
          implementationVersionName: 'TEST',
        }),
      ).rejects.toThrow(/maximum PDU length \(16\) is below 1024/);
    } finally {
      await scp.close();
    }
  });

  it('a peer that stops in the middle of a data set is aborted once it has been silent for the idle time', async () => {
    const p = await RawPeer.associated(quick.port, storeRq());
    const inst = instance('SILENT');
    startStore(p, inst, 20000);
    expect(await p.next(IDLE_MS + 3000)).toMatchObject({ type: 'A-ABORT', source: 2 });
    p.destroy();
    expect(await quick.app.index.findInstance(inst.sopUid)).toBeUndefined();
    await until('the abandoned temporary file is removed', () => leftoverTemp(quickStorage()).length === 0);
  });

  it('an A-RELEASE-RQ in the middle of a data set: the store fails, the release is answered', async () => {
    const p = await RawPeer.associated(quick.port, storeRq());
    const inst = instance('EARLYRELEASE');
    startStore(p, inst, 20000);
    p.write(encodePdu({ type: 'A-RELEASE-RQ' }));
    const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
    expect(rsp.type).toBe('P-DATA-TF');
    const c = decodeCommand(rsp.pdvs[0].data);
    expect(Number(c.Status)).toBe(0xc000);
    expect(String(c.ErrorComment)).toMatch(/release/);
    expect(await p.next()).toMatchObject({ type: 'A-RELEASE-RP' });
    expect(await quick.app.index.findInstance(inst.sopUid)).toBeUndefined();
    await until('the abandoned temporary file is removed', () => leftoverTemp(quickStorage()).length === 0);
  });

  for (const answer of ['garbage', 'silent'] as const) {
    it(`a C-MOVE destination that answers ${answer === 'garbage' ? 'an undecodable command' : 'nothing'} fails the sub-operation, and the archive goes on`, async () => {
      const dest = await fakeScp(answer);
      try {
        await quick.app.aes.add({
          mode: 'device',
          aeTitle: 'FAKEDEST',
          host: '127.0.0.1',
          port: dest.port,
          permissions: ['destination'],
        });
        const inst = instance(`MOVE${answer.toUpperCase()}`);
        await quick.app.ingest.ingest({ chunks: [inst.bytes], source: 'TEST' });
        const r = await runDcmtk('movescu', [
          '-S',
          '-aet',
          'STORESCU',
          '-aec',
          'LANTERN',
          '-aem',
          'FAKEDEST',
          '-k',
          'QueryRetrieveLevel=STUDY',
          '-k',
          `StudyInstanceUID=${inst.studyUid}`,
          '127.0.0.1',
          String(quick.port),
        ]);
        expect(dest.received()).toBe(1);
        expect(r.out).toMatch(/SubOperationsCompleteOneOrMoreFailures/);
        const echo = await runDcmtk('echoscu', [
          '-aet',
          'STORESCU',
          '-aec',
          'LANTERN',
          '127.0.0.1',
          String(quick.port),
        ]);
        expect(echo.code, echo.out).toBe(0);
      } finally {
        await dest.close();
      }
    });
  }
});
