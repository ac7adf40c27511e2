import type { ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, EXPLICIT_LITTLE } from '../../src/core/dicom/dataset.js';
import { stringElement } from '../../src/core/dicom/encode.js';
import { CharacterSets } from '../../src/core/dicom/charset.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { getString } from '../../src/core/dicom/values.js';
import { encodeDataset } from '../../src/core/dicom/writer.js';
import { encodeCommand, NO_DATASET } from '../../src/core/dimse/command.js';
import { encodePdu, type Pdu } from '../../src/core/ul/pdu.js';
import { associateRq, RawPeer as Peer } from '../helpers/raw-peer.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir } from '../helpers/corpus.js';
import { freePort, runDcmtk, startDcmtkServer } from '../helpers/dcmtk.js';
import { leftoverTemp } from '../helpers/storage.js';
import { synthInstance } from '../helpers/synth.js';

let archive: TestArchive;
const work = mkdtempSync(join(tmpdir(), 'lantern-dimse-'));

beforeAll(async () => {
  archive = await startTestArchive({ maxAssociations: 4, artimMs: 1000 });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'STORESCU',
    host: '127.0.0.1',
    port: 0,
    permissions: ['store', 'find', 'get', 'move'],
  });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'READONLY',
    host: '',
    port: 0,
    permissions: ['find'],
  });
  await archive.app.aes.add({ mode: 'device', aeTitle: 'NOFIND', host: '', port: 0, permissions: ['store'] });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'ELSEWHERE',
    host: '192.0.2.1',
    port: 0,
    permissions: ['store'],
  });
});
afterAll(async () => {
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

const dcmtk = runDcmtk;
const host = () => ['127.0.0.1', String(archive.port)];

/** Every file a peer received in `dir` has exactly the data set bytes the archive stores for it. */
async function expectAsStored(dir: string, count: number): Promise<void> {
  const received = readdirSync(dir);
  expect(received).toHaveLength(count);
  for (const name of received) {
    const bytes = readFileSync(join(dir, name));
    const p = parseDicom(bytes);
    const row = (await archive.app.index.findInstance(getString(p.dataset, Tag.SOPInstanceUID)!))!;
    const stored = readFileSync(join(archive.dir, 'storage', row.blobKey));
    expect(
      bytes.subarray(p.datasetOffset).equals(stored.subarray(parseDicom(stored).datasetOffset)),
      name,
    ).toBe(true);
  }
}

describe('C-ECHO and association acceptance, against DCMTK echoscu', () => {
  it('a registered AE calling from its host is accepted', async () => {
    const r = await dcmtk('echoscu', ['-aet', 'STORESCU', '-aec', 'LANTERN', ...host()]);
    expect(r.code, r.out).toBe(0);
  });
  it('an unknown calling AE is rejected: calling AE not recognized', async () => {
    const r = await dcmtk('echoscu', ['-aet', 'STRANGER', '-aec', 'LANTERN', ...host()]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Calling AE Title Not Recognized/i);
  });
  it('a registered AE calling from another address is rejected', async () => {
    expect((await dcmtk('echoscu', ['-aet', 'ELSEWHERE', '-aec', 'LANTERN', ...host()])).out).toMatch(
      /Calling AE Title Not Recognized/i,
    );
  });
  it('a wrong called AE title is rejected: called AE not recognized', async () => {
    expect((await dcmtk('echoscu', ['-aet', 'STORESCU', '-aec', 'NOTUS', ...host()])).out).toMatch(
      /Called AE Title Not Recognized/i,
    );
  });
});

describe('C-STORE against DCMTK storescu', () => {
  /** pydicom samples in many transfer syntaxes (one per SOP Instance UID), plus DCMTK-made variants. */
  const corpus = async () => {
    const d = pydicomDataDir();
    const names = [
      'CT_small.dcm',
      'MR_small.dcm',
      'MR_small_implicit.dcm',
      'MR_small_bigendian.dcm',
      'JPEG2000.dcm',
      'MR_small_RLE.dcm',
      'MR_small_jpeg_ls_lossless.dcm',
      'rtplan.dcm',
      'waveform_ecg.dcm',
      'SC_rgb_jpeg_dcmtk.dcm',
      'SC_rgb_rle.dcm',
      'JPGExtended.dcm',
      'SC_rgb_jpeg_gdcm.dcm',
      'image_dfl.dcm',
      'ExplVR_BigEnd.dcm',
    ];
    const files = names.map((n) => join(d, 'test_files', n));
    // DCMTK's compressors and converters, each output with a new SOP Instance UID.
    const base = join(work, 'base.dcm');
    writeFileSync(
      base,
      synthInstance({ patientId: 'DCMTKVAR', patientName: 'Var^Iants', rows: 64, columns: 64 }).bytes,
    );
    const make = async (name: string, tool: string, args: string[]) => {
      const out = join(work, name);
      expect((await dcmtk(tool, [...args, base, out])).code).toBe(0);
      expect((await dcmtk('dcmodify', ['-nb', '-gin', out])).code).toBe(0);
      files.push(out);
    };
    await make('implicit.dcm', 'dcmconv', ['+ti']);
    await make('bigendian.dcm', 'dcmconv', ['+tb']);
    await make('deflated.dcm', 'dcmconv', ['+td']);
    await make('rle.dcm', 'dcmcrle', []);
    await make('jpeg-lossless.dcm', 'dcmcjpeg', ['+e1']);
    await make('jpegls.dcm', 'dcmcjpls', []);
    const seen = new Set<string>();
    return files.filter((f) => {
      const uid = String(
        parseDicom(readFileSync(f), { untilPixelData: true }).dataset.get(0x00080018)?.value,
      );
      if (seen.has(uid)) return false;
      seen.add(uid);
      return true;
    });
  };

  it('stores every file in its own transfer syntax; the stored dataset is what DCMTK storescp receives, byte for byte', async () => {
    const files = await corpus();
    expect(files.length).toBeGreaterThanOrEqual(15);
    // The reference: DCMTK's storescp, bit-preserving, receiving the same sends.
    const rx = join(work, 'storescp');
    mkdirSync(rx);
    const refPort = await freePort();
    const storescp = await startDcmtkServer('storescp', ['+xa', '-B', '-od', rx, String(refPort)], refPort);
    const propose: Record<string, string> = {
      '1.2.840.10008.1.2': '-xi',
      '1.2.840.10008.1.2.1': '-xe',
      '1.2.840.10008.1.2.2': '-xb',
      '1.2.840.10008.1.2.1.99': '-xd',
      '1.2.840.10008.1.2.4.50': '-xy',
      '1.2.840.10008.1.2.4.51': '-xx',
      '1.2.840.10008.1.2.4.70': '-xs',
      '1.2.840.10008.1.2.4.80': '-xt',
      '1.2.840.10008.1.2.4.81': '-xu',
      '1.2.840.10008.1.2.4.90': '-xv',
      '1.2.840.10008.1.2.4.91': '-xw',
      '1.2.840.10008.1.2.5': '-xr',
    };
    try {
      for (const f of files) {
        // One association per file, proposing the file's own transfer syntax: DCMTK sends it as it is.
        const sent = parseDicom(readFileSync(f), { untilPixelData: true });
        const opts = ['-aet', 'STORESCU', '-R', propose[sent.transferSyntax.uid]];
        const ours = await dcmtk('storescu', [...opts, '-aec', 'LANTERN', ...host(), f]);
        expect(ours.code, ours.out).toBe(0);
        const ref = await dcmtk('storescu', [...opts, '-aec', 'STORESCP', '127.0.0.1', String(refPort), f]);
        expect(ref.code, ref.out).toBe(0);
        const uid = Buffer.from(sent.dataset.get(0x00080018)!.value!).toString('latin1').replace(/\0+$/, '');
        // pydicom's samples share patients with conflicting names: some land in quarantine, kept all the same.
        const key =
          (await archive.app.index.findInstance(uid))?.blobKey ??
          (await archive.app.index.listQuarantine(0, 1000)).find((q) => q.sopInstanceUid === uid)?.blobKey;
        expect(key, basename(f)).toBeDefined();
        const stored = readFileSync(join(archive.dir, 'storage', key!));
        const storedParse = parseDicom(stored);
        expect(storedParse.meta, basename(f)).toBeDefined();
        expect(storedParse.transferSyntax.uid, basename(f)).toBe(sent.transferSyntax.uid);
        const refFile = readdirSync(rx).find((n) => n.endsWith(uid));
        expect(refFile, basename(f)).toBeDefined();
        const refBytes = readFileSync(join(rx, refFile!));
        const refParse = parseDicom(refBytes);
        if (sent.transferSyntax.deflated) {
          // storescp re-compresses what it inflated; compare the inflated datasets.
          const plain = (r: typeof refParse) => Buffer.from(encodeDataset(r.dataset, EXPLICIT_LITTLE));
          expect(plain(storedParse).equals(plain(refParse)), basename(f)).toBe(true);
        } else {
          const refDataset = refBytes.subarray(refParse.datasetOffset);
          expect(stored.subarray(storedParse.datasetOffset).equals(refDataset), basename(f)).toBe(true);
        }
      }
    } finally {
      storescp.kill();
    }
  });

  it('stores from parallel associations', async () => {
    const dirs = [0, 1, 2].map((k) => join(work, `many${k}`));
    dirs.forEach((dir, k) => {
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 10; i++) {
        writeFileSync(
          join(dir, `f${i}.dcm`),
          synthInstance({ patientId: 'PAR', patientName: 'Par^Allel', instanceNumber: k * 10 + i }).bytes,
        );
      }
    });
    const before = (await archive.app.index.counts()).instances;
    const runs = await Promise.all(
      dirs.map((dir) => dcmtk('storescu', ['-aet', 'STORESCU', '-aec', 'LANTERN', '+sd', ...host(), dir])),
    );
    for (const r of runs) expect(r.code, r.out).toBe(0);
    expect((await archive.app.index.counts()).instances).toBe(before + 30);
  });

  it('an AE without the store permission gets "refused: not authorized"', async () => {
    copyFileSync(join(pydicomDataDir(), 'test_files', 'CT_small.dcm'), join(work, 'ro.dcm'));
    const r = await dcmtk('storescu', [
      '-aet',
      'READONLY',
      '-aec',
      'LANTERN',
      '-v',
      ...host(),
      join(work, 'ro.dcm'),
    ]);
    expect(r.out).toMatch(/Status: 0x124|Refused: Not Authorized/i);
  });
});

// ----------------------------------------------------------------------------------------------- raw peers

const rq = associateRq;
const RawPeer = {
  open: () => Peer.open(archive.port),
};
afterEach(() => Peer.destroyAll());

function associated(): Promise<Peer> {
  return Peer.associated(archive.port);
}

describe('bad input on the DICOM port gets A-ABORT or A-ASSOCIATE-RJ, and the server keeps serving', () => {
  it('a P-DATA-TF before association', async () => {
    const p = await RawPeer.open();
    p.write(
      encodePdu({
        type: 'P-DATA-TF',
        pdvs: [{ contextId: 1, command: true, last: true, data: new Uint8Array(8) }],
      }),
    );
    expect(await p.next()).toMatchObject({ type: 'A-ABORT' });
    expect(await p.waitClosed()).toBe(true);
  });

  it('an unknown PDU type', async () => {
    const p = await associated();
    p.write(Uint8Array.of(0x0a, 0, 0, 0, 0, 0));
    expect(await p.next()).toMatchObject({ type: 'A-ABORT', source: 2, reason: 1 });
  });

  it('a PDU larger than we accept', async () => {
    const p = await associated();
    const h = Buffer.alloc(6);
    h[0] = 0x04;
    h.writeUInt32BE(10 * 1024 * 1024, 2);
    p.write(h);
    expect(await p.next()).toMatchObject({ type: 'A-ABORT', source: 2 });
  });

  it('a presentation context that was never accepted', async () => {
    const p = await associated();
    const cmd = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.1.1',
      CommandField: 0x30,
      MessageID: 1,
      CommandDataSetType: NO_DATASET,
    });
    p.write(encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 7, command: true, last: true, data: cmd }] }));
    expect(await p.next()).toMatchObject({ type: 'A-ABORT', reason: 6 });
  });

  it('a command without a Message ID gets a failure status with a comment, and the association goes on', async () => {
    const p = await associated();
    const bad = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.1.1',
      CommandField: 0x30,
      CommandDataSetType: NO_DATASET,
    });
    p.write(encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: bad }] }));
    const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
    expect(rsp.type).toBe('P-DATA-TF');
    const { decodeCommand } = await import('../../src/core/dimse/command.js');
    expect(decodeCommand(rsp.pdvs[0].data)).toMatchObject({
      Status: 0x0120,
      ErrorComment: 'MessageID is missing',
    });
    const good = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.1.1',
      CommandField: 0x30,
      MessageID: 2,
      CommandDataSetType: NO_DATASET,
    });
    p.write(
      encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: good }] }),
    );
    const ok = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
    expect(decodeCommand(ok.pdvs[0].data)).toMatchObject({ Status: 0, MessageIDBeingRespondedTo: 2 });
    p.write(encodePdu({ type: 'A-RELEASE-RQ' }));
    expect(await p.next()).toMatchObject({ type: 'A-RELEASE-RP' });
  });

  it('a second A-ASSOCIATE-RQ on an association', async () => {
    const p = await associated();
    p.write(encodePdu(rq()));
    expect(await p.next()).toMatchObject({ type: 'A-ABORT', source: 2 });
  });

  it('a connection that never sends its A-ASSOCIATE-RQ is closed by the ARTIM timer', async () => {
    const p = await RawPeer.open();
    expect(await p.waitClosed(4000)).toBe(true);
  });

  it('more associations than the cap are rejected transiently, and others are served after', async () => {
    const peers = await Promise.all([1, 2, 3, 4].map(() => associated()));
    const extra = await RawPeer.open();
    extra.write(encodePdu(rq()));
    expect(await extra.next()).toMatchObject({ type: 'A-ASSOCIATE-RJ', result: 2, source: 3, reason: 2 });
    peers.forEach((p) => p.destroy());
    await new Promise((r) => setTimeout(r, 100));
    expect((await dcmtk('echoscu', ['-aet', 'STORESCU', '-aec', 'LANTERN', ...host()])).code).toBe(0);
  });

  it('idle connections are closed by the ARTIM timer, and service resumes', async () => {
    const peers = await Promise.all(Array.from({ length: 12 }, () => RawPeer.open()));
    const closedSoon = await Promise.all(peers.map((p) => p.waitClosed(3000)));
    expect(closedSoon.every(Boolean)).toBe(true);
    expect((await dcmtk('echoscu', ['-aet', 'STORESCU', '-aec', 'LANTERN', ...host()])).code).toBe(0);
  });

  it('an A-ASSOCIATE-RQ trickled a byte at a time is cut off by the ARTIM timer', async () => {
    const p = await RawPeer.open();
    const bytes = encodePdu(rq());
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < bytes.length && !p.closed) p.write(bytes.subarray(sent, ++sent));
    }, 100);
    try {
      expect(await p.waitClosed(4000)).toBe(true);
      expect(sent).toBeLessThan(bytes.length);
    } finally {
      clearInterval(timer);
    }
  });

  it('C-CANCEL stops a C-FIND: the final response is Cancel (FE00)', async () => {
    const p = await RawPeer.open();
    p.write(
      encodePdu(
        rq('STORESCU', [
          { id: 1, abstractSyntax: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxes: ['1.2.840.10008.1.2.1'] },
        ]),
      ),
    );
    expect((await p.next())?.type).toBe('A-ASSOCIATE-AC');
    const identifier = encodeDataset(
      new Dataset(
        [
          stringElement(Tag.QueryRetrieveLevel, 'CS', ['IMAGE']),
          stringElement(Tag.SOPInstanceUID, 'UI', ['']),
        ],
        EXPLICIT_LITTLE,
      ),
      EXPLICIT_LITTLE,
    );
    const find = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.2.2.1',
      CommandField: 0x20,
      MessageID: 5,
      Priority: 0,
      CommandDataSetType: 0,
    });
    const cancel = encodeCommand({
      CommandField: 0x0fff,
      MessageIDBeingRespondedTo: 5,
      CommandDataSetType: NO_DATASET,
    });
    p.write(
      Buffer.concat([
        encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: find }] }),
        encodePdu({
          type: 'P-DATA-TF',
          pdvs: [{ contextId: 1, command: false, last: true, data: identifier }],
        }),
        encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: cancel }] }),
      ]),
    );
    const { decodeCommand } = await import('../../src/core/dimse/command.js');
    let last: ReturnType<typeof decodeCommand> | undefined;
    for (;;) {
      const pdu = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
      const cmd = pdu.pdvs.find((v) => v.command);
      if (!cmd) continue;
      last = decodeCommand(cmd.data);
      if (last.Status !== 0xff00) break;
    }
    expect(last.Status).toBe(0xfe00);
    expect(last.MessageIDBeingRespondedTo).toBe(5);
  });

  it('a data set in another transfer syntax than its context gets C000 with a reason, and nothing is stored', async () => {
    const p = await RawPeer.open();
    p.write(
      encodePdu(
        rq('STORESCU', [
          { id: 1, abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxes: ['1.2.840.10008.1.2.1'] },
        ]),
      ),
    );
    expect((await p.next())?.type).toBe('A-ASSOCIATE-AC');
    const inst = synthInstance({ patientId: 'WRONGTS' });
    const parsed = parseDicom(inst.bytes);
    const implicit = encodeDataset(parsed.dataset, { explicitVr: false, littleEndian: true });
    const before = await archive.app.index.counts();
    const cmd = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      CommandField: 0x01,
      MessageID: 3,
      Priority: 0,
      CommandDataSetType: 0,
      AffectedSOPInstanceUID: inst.sopUid,
    });
    p.write(encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: cmd }] }));
    p.write(
      encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: false, last: true, data: implicit }] }),
    );
    const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
    const { decodeCommand } = await import('../../src/core/dimse/command.js');
    const c = decodeCommand(rsp.pdvs[0].data);
    expect(c.Status).toBe(0xc000);
    expect(String(c.ErrorComment)).toMatch(/unknown VR/);
    expect(await archive.app.index.counts()).toEqual(before);
    expect(leftoverTemp(join(archive.dir, 'storage'))).toEqual([]);
  });

  it('a data set that does not match its command is refused and nothing reaches the index', async () => {
    const p = await RawPeer.open();
    p.write(
      encodePdu(
        rq('STORESCU', [
          { id: 1, abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxes: ['1.2.840.10008.1.2.1'] },
        ]),
      ),
    );
    expect((await p.next())?.type).toBe('A-ASSOCIATE-AC');
    const inst = synthInstance({ patientId: 'MISMATCH' });
    const ds = inst.bytes.subarray(parseDicom(inst.bytes).datasetOffset);
    const before = await archive.app.index.counts();
    const cmd = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      CommandField: 0x01,
      MessageID: 9,
      Priority: 0,
      CommandDataSetType: 0,
      AffectedSOPInstanceUID: '1.2.3.999',
    });
    p.write(encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: cmd }] }));
    p.write(encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: false, last: true, data: ds }] }));
    const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
    const { decodeCommand } = await import('../../src/core/dimse/command.js');
    const c = decodeCommand(rsp.pdvs[0].data);
    expect(c.Status).toBe(0xa900);
    expect(String(c.ErrorComment)).toMatch(/SOP Instance UID differs/);
    expect(await archive.app.index.counts()).toEqual(before);
  });
});

describe('C-FIND against DCMTK findscu', () => {
  const studyA = `2.25.${Date.now()}1`;
  const studyB = `2.25.${Date.now()}2`;
  const seriesA = `2.25.${Date.now()}3`;
  beforeAll(async () => {
    const put = async (o: Parameters<typeof synthInstance>[0]) => {
      const r = await archive.app.ingest.ingest({ chunks: [synthInstance(o).bytes] });
      expect(r.status).toBe('stored');
    };
    await put({
      patientId: 'FIND1',
      patientName: 'Yamada^Tarou=山田^太郎',
      studyUid: studyA,
      seriesUid: seriesA,
      studyDate: '20260110',
      modality: 'CT',
    });
    await put({
      patientId: 'FIND1',
      patientName: 'Yamada^Tarou=山田^太郎',
      studyUid: studyA,
      seriesUid: seriesA,
      studyDate: '20260110',
      modality: 'CT',
      instanceNumber: 2,
    });
    await put({
      patientId: 'FIND2',
      patientName: 'Müller^Jürgen',
      studyUid: studyB,
      studyDate: '20260305',
      modality: 'MR',
    });
  });

  /** Runs findscu and returns the response identifiers it wrote, parsed. */
  async function findscu(aet: string, args: string[]) {
    const out = mkdtempSync(join(work, 'find-'));
    const r = await dcmtk('findscu', [
      '-v',
      '-aet',
      aet,
      '-aec',
      'LANTERN',
      '-X',
      '-od',
      out,
      ...args,
      ...host(),
    ]);
    const files = readdirSync(out).sort();
    return { ...r, results: files.map((f) => parseDicom(readFileSync(join(out, f))).dataset) };
  }
  const str = (ds: ReturnType<typeof parseDicom>['dataset'], tag: number) => getString(ds, tag);

  it('study level, study root: exact match, computed attributes', async () => {
    const r = await findscu('STORESCU', [
      '-S',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      'PatientID=FIND1',
      '-k',
      'StudyInstanceUID',
      '-k',
      'ModalitiesInStudy',
      '-k',
      'NumberOfStudyRelatedInstances',
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.results).toHaveLength(1);
    expect(str(r.results[0], Tag.StudyInstanceUID)).toBe(studyA);
    expect(str(r.results[0], Tag.ModalitiesInStudy)).toBe('CT');
    expect(str(r.results[0], Tag.NumberOfStudyRelatedInstances)).toBe('2');
    expect(str(r.results[0], Tag.QueryRetrieveLevel)).toBe('STUDY');
  });

  it('wildcards on non-ASCII names, in UTF-8', async () => {
    const r = await findscu('STORESCU', [
      '-P',
      '-k',
      'QueryRetrieveLevel=PATIENT',
      '-k',
      'SpecificCharacterSet=ISO_IR 192',
      '-k',
      'PatientName=*=山?^太郎',
      '-k',
      'PatientID',
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.results.map((d) => str(d, Tag.PatientID))).toEqual(['FIND1']);
    expect(str(r.results[0], Tag.PatientName)).toBe('Yamada^Tarou=山田^太郎');
    const m = await findscu('STORESCU', [
      '-P',
      '-k',
      'QueryRetrieveLevel=PATIENT',
      '-k',
      'SpecificCharacterSet=ISO_IR 192',
      '-k',
      'PatientName=Mü*',
      '-k',
      'PatientID',
    ]);
    expect(m.results.map((d) => str(d, Tag.PatientID))).toEqual(['FIND2']);
  });

  it('date ranges and UID lists', async () => {
    const range = await findscu('STORESCU', [
      '-S',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      'StudyDate=20260101-20260131',
      '-k',
      `StudyInstanceUID=${studyA}\\${studyB}`,
    ]);
    expect(range.results.map((d) => str(d, Tag.StudyInstanceUID))).toEqual([studyA]);
    const list = await findscu('STORESCU', [
      '-S',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${studyA}\\${studyB}`,
    ]);
    expect(list.results.map((d) => str(d, Tag.StudyInstanceUID)).sort()).toEqual([studyA, studyB].sort());
  });

  it('series and image levels', async () => {
    const series = await findscu('STORESCU', [
      '-S',
      '-k',
      'QueryRetrieveLevel=SERIES',
      '-k',
      `StudyInstanceUID=${studyA}`,
      '-k',
      'Modality',
      '-k',
      'NumberOfSeriesRelatedInstances',
    ]);
    expect(series.results.map((d) => str(d, Tag.StudyInstanceUID))).toEqual([studyA]);
    expect(str(series.results[0], Tag.NumberOfSeriesRelatedInstances)).toBe('2');
    const images = await findscu('STORESCU', [
      '-S',
      '-k',
      'QueryRetrieveLevel=IMAGE',
      '-k',
      `StudyInstanceUID=${studyA}`,
      '-k',
      'SOPInstanceUID',
      '-k',
      'InstanceNumber',
    ]);
    expect(images.results.map((d) => str(d, Tag.InstanceNumber)).sort()).toEqual(['1', '2']);
  });

  it('extended negotiation: relational and fuzzy matching are agreed; fuzzy names match by component, without case or accents, by prefix or sound', async () => {
    const p = await RawPeer.open();
    const studyRoot = '1.2.840.10008.5.1.4.1.2.2.1';
    const ask = rq('STORESCU', [
      { id: 1, abstractSyntax: studyRoot, transferSyntaxes: ['1.2.840.10008.1.2.1'] },
    ]);
    p.write(
      encodePdu({
        ...ask,
        userInformation: {
          ...ask.userInformation,
          extended: [{ sopClassUid: studyRoot, info: Uint8Array.of(1, 1, 1, 1) }],
        },
      }),
    );
    const ac = (await p.next()) as Extract<Pdu, { type: 'A-ASSOCIATE-AC' }>;
    expect(ac.userInformation.extended?.map((x) => [x.sopClassUid, [...x.info]])).toEqual([
      [studyRoot, [1, 0, 1]],
    ]);
    const find1 = async (name: string, messageId: number): Promise<string[]> => {
      const identifier = encodeDataset(
        new Dataset(
          [
            stringElement(Tag.SpecificCharacterSet, 'CS', ['ISO_IR 192']),
            stringElement(Tag.QueryRetrieveLevel, 'CS', ['STUDY']),
            stringElement(Tag.PatientName, 'PN', [name], CharacterSets.fromValue('ISO_IR 192')),
            stringElement(Tag.PatientID, 'LO', ['']),
          ],
          EXPLICIT_LITTLE,
        ),
        EXPLICIT_LITTLE,
      );
      const find = encodeCommand({
        AffectedSOPClassUID: studyRoot,
        CommandField: 0x20,
        MessageID: messageId,
        Priority: 0,
        CommandDataSetType: 0,
      });
      p.write(
        encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: find }] }),
      );
      p.write(
        encodePdu({
          type: 'P-DATA-TF',
          pdvs: [{ contextId: 1, command: false, last: true, data: identifier }],
        }),
      );
      const { decodeCommand } = await import('../../src/core/dimse/command.js');
      const ids: string[] = [];
      for (;;) {
        const pdu = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
        for (const v of pdu.pdvs) {
          if (!v.command)
            ids.push(
              getString(
                parseDicom(v.data, { assumeTransferSyntax: '1.2.840.10008.1.2.1' }).dataset,
                Tag.PatientID,
              )!,
            );
        }
        const cmd = pdu.pdvs.find((v) => v.command);
        if (cmd && decodeCommand(cmd.data).Status === 0) break;
      }
      return ids;
    };
    expect(await find1('müller*', 1)).toEqual(['FIND2']);
    expect(await find1('MULLER^jurgen', 2)).toEqual(['FIND2']);
    expect(await find1('mueller', 3)).toEqual(['FIND2']);
    expect(await find1('yamada', 4)).toEqual(['FIND1']);
    expect(await find1('山田^太郎', 5)).toEqual(['FIND1']);
    expect(await find1('jurgen', 6)).toEqual([]);
  });

  it('a level the model does not have, a bad date, and an AE without the find permission get failure statuses', async () => {
    const badLevel = await findscu('STORESCU', ['-S', '-k', 'QueryRetrieveLevel=PATIENT', '-k', 'PatientID']);
    expect(badLevel.out).toMatch(/0xa900|Does ?Not ?Match ?SOP ?Class/i);
    const badDate = await findscu('STORESCU', [
      '-S',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      'StudyDate=2026-01-01',
    ]);
    expect(badDate.out).toMatch(/0xa900|Does ?Not ?Match ?SOP ?Class/i);
    const denied = await findscu('NOFIND', ['-S', '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientID']);
    expect(denied.out).toMatch(/0x0124|0x124|Not Authorized/i);
    expect(denied.results).toHaveLength(0);
  });
});

describe('C-MOVE against DCMTK movescu, with storescp as the move destination', () => {
  const study = `2.25.${Date.now()}7`;
  let rx: string;
  let storescp: ChildProcess;
  let destPort: number;
  beforeAll(async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await archive.app.ingest.ingest({
        chunks: [
          synthInstance({ patientId: 'MOVE1', patientName: 'Mover^Mia', studyUid: study, instanceNumber: i })
            .bytes,
        ],
      });
      expect(r.status).toBe('stored');
    }
    rx = mkdtempSync(join(work, 'dest-'));
    destPort = await freePort();
    storescp = await startDcmtkServer(
      'storescp',
      ['+xa', '-B', '-aet', 'DEST', '-od', rx, String(destPort)],
      destPort,
    );
    await archive.app.aes.add({
      mode: 'device',
      aeTitle: 'DEST',
      host: '127.0.0.1',
      port: destPort,
      permissions: ['destination'],
    });
  });
  afterAll(() => storescp?.kill());

  it('moves a study: every received data set is what the archive stores, byte for byte', async () => {
    const r = await dcmtk('movescu', [
      '-v',
      '-S',
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '-aem',
      'DEST',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Received Final Move Response \(Success\)/);
    await expectAsStored(rx, 3);
  });

  it('a peer registered with a host and port is a move destination by default; one not permitted is told so', async () => {
    // As `lantern ae add WS --host H --port P` registers it: no --allow.
    await archive.app.aes.add({ mode: 'device', aeTitle: 'WSDEFAULT', host: '127.0.0.1', port: destPort });
    expect((await archive.app.aes.find('WSDEFAULT'))?.permissions).toContain('destination');
    const moved = await dcmtk('movescu', [
      '-S',
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '-aem',
      'WSDEFAULT',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(moved.code, moved.out).toBe(0);
    expect(moved.out).not.toMatch(/Failed|Refused/i);
    // Registered with an explicit list that leaves it out: refused, and the comment says why.
    await archive.app.aes.add({
      mode: 'device',
      aeTitle: 'WSNODEST',
      host: '127.0.0.1',
      port: destPort,
      permissions: ['find'],
    });
    const refused = await dcmtk('movescu', [
      '-d',
      '-S',
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '-aem',
      'WSNODEST',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(refused.out).toMatch(/0xa801|Move Destination Unknown|MoveDestinationUnknown/i);
    expect(refused.out).toContain('WSNODEST is not permitted as a move destination');
  });

  it('an unknown destination gets A801; a caller without the move permission gets 0124', async () => {
    const unknown = await dcmtk('movescu', [
      '-d',
      '-S',
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '-aem',
      'NOWHERE',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(unknown.out).toMatch(/0xa801|Move Destination Unknown|MoveDestinationUnknown/i);
    expect(unknown.out).toContain('NOWHERE is not a registered AE');
    const denied = await dcmtk('movescu', [
      '-v',
      '-S',
      '-aet',
      'NOFIND',
      '-aec',
      'LANTERN',
      '-aem',
      'DEST',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(denied.out).toMatch(/0x0124|0x124|Not Authorized/i);
  });
});

describe('C-GET against DCMTK getscu', () => {
  const study = `2.25.${Date.now()}5`;
  beforeAll(async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await archive.app.ingest.ingest({
        chunks: [
          synthInstance({ patientId: 'GET1', patientName: 'Getter^Gus', studyUid: study, instanceNumber: i })
            .bytes,
        ],
      });
      expect(r.status).toBe('stored');
    }
  });

  it('gets a study on the same association: every data set is what the archive stores, byte for byte', async () => {
    const out = mkdtempSync(join(work, 'get-'));
    const r = await dcmtk('getscu', [
      '-v',
      '-S',
      '-aet',
      'STORESCU',
      '-aec',
      'LANTERN',
      '-od',
      out,
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Number of Completed Suboperations\s*:\s*3/);
    expect(r.out).toMatch(/Number of Failed Suboperations\s*:\s*0/);
    await expectAsStored(out, 3);
  });

  it('a caller without the get permission gets 0124', async () => {
    const out = mkdtempSync(join(work, 'get-'));
    const r = await dcmtk('getscu', [
      '-v',
      '-S',
      '-aet',
      'NOFIND',
      '-aec',
      'LANTERN',
      '-od',
      out,
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study}`,
      ...host(),
    ]);
    expect(r.out).toMatch(/0x0124|0x124|Not Authorized/i);
    expect(readdirSync(out)).toHaveLength(0);
  });
});
