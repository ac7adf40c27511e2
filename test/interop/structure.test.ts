import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getString } from '../../src/core/dicom/values.js';
import { CommandField, decodeCommand, encodeCommand } from '../../src/core/dimse/command.js';
import { DicomFormatError, isLanternError } from '../../src/core/errors.js';
import { encodePdu, type Pdu } from '../../src/core/ul/pdu.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { pydicomDataDir, pydicomPython } from '../helpers/corpus.js';
import { type Mutant, mutants } from '../helpers/mutate.js';
import { associateRq, RawPeer } from '../helpers/raw-peer.js';
import { leftoverTemp } from '../helpers/storage.js';

// Structurally broken data sets (delimiters where none belong, lengths that disagree with their content,
// delimiters missing, values that do not fit their VR, truncation) are refused with the offset of the
// damage; what the archive keeps, other systems can read. Each verdict is checked against DCMTK's dcmdump
// and pydicom reading the kept bytes.

let archive: TestArchive;
const work = mkdtempSync(join(tmpdir(), 'lantern-structure-'));
beforeAll(async () => {
  archive = await startTestArchive();
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'STORESCU',
    host: '',
    port: 0,
    permissions: ['store'],
  });
});
afterAll(async () => {
  RawPeer.destroyAll();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Real files with nested sequences (defined and undefined lengths), explicit and implicit VR. */
const SOURCES = [
  'rtplan.dcm',
  'rtstruct.dcm',
  'rtdose.dcm',
  'CT_small.dcm',
  'MR_small.dcm',
  'MR_small_implicit.dcm',
  'nested_priv_SQ.dcm',
  'reportsi.dcm',
  'waveform_ecg.dcm',
  'SC_rgb_rle.dcm',
];
const SEED = 20261201;

interface Verdict {
  readonly mutant: Mutant;
  readonly source: string;
  readonly file: string;
  /** The stored (or quarantined) bytes, or the refusal. */
  readonly kept?: Buffer;
  readonly refused?: unknown;
}

/** What dcmdump says of each file: undefined when it reads it without an error. */
function dcmdumpErrors(files: string[]): (string | undefined)[] {
  return files.map((f) => {
    const strict = spawnSync('dcmdump', [f], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const err = strict.stderr
      .split('\n')
      .filter((l) => l.startsWith('E: ') || /^W: .*(Length of element|larger|Parse error)/.test(l));
    return strict.status === 0 && err.length === 0 ? undefined : err.join('; ') || `exit ${strict.status}`;
  });
}

/** What pydicom says of each file (every element read and its value converted): undefined when fine. */
function pydicomErrors(files: string[]): (string | undefined)[] {
  const script = [
    'import sys, warnings, pydicom',
    'warnings.simplefilter("ignore")',
    'for path in sys.stdin.read().split("\\n"):',
    '    if not path: continue',
    '    try:',
    '        ds = pydicom.dcmread(path)',
    '        for el in ds.iterall(): el.value',
    '        print("ok")',
    '    except Exception as e:',
    '        print("error: " + type(e).__name__ + " " + str(e).replace("\\n", " ")[:200])',
  ].join('\n');
  const out = execFileSync(pydicomPython(), ['-c', script], { input: files.join('\n'), encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((l) => (l === 'ok' ? undefined : l));
}

async function keptBytes(sopUid: string | undefined): Promise<Buffer | undefined> {
  if (!sopUid) return undefined;
  const row = await archive.app.index.findInstance(sopUid);
  if (row) return readFileSync(join(archive.dir, 'storage', row.blobKey));
  return undefined;
}

describe('structurally broken data sets', () => {
  it('every mutant is refused with the offset of its damage, or kept readable by dcmdump and pydicom', async () => {
    const verdicts: Verdict[] = [];
    let n = 0;
    for (const [k, name] of SOURCES.entries()) {
      const source = readFileSync(join(pydicomDataDir(), 'test_files', name));
      for (const mutant of mutants(source, SEED + k, 40)) {
        const file = join(work, `m${n++}.dcm`);
        writeFileSync(file, mutant.bytes);
        const before = (await archive.app.index.counts()).quarantined;
        try {
          const outcome = await archive.app.ingest.ingest({ chunks: [mutant.bytes], source: 'MUTATOR' });
          let kept = await keptBytes(outcome.sopInstanceUid);
          if (outcome.status === 'quarantined' || outcome.status === 'duplicate') {
            // Kept all the same: the quarantine holds the newest copy under this UID.
            const q = (await archive.app.index.listQuarantine(0, 100_000)).filter(
              (r) => r.sopInstanceUid === outcome.sopInstanceUid,
            );
            if (outcome.status === 'quarantined') {
              expect((await archive.app.index.counts()).quarantined).toBe(before + 1);
              kept = readFileSync(join(archive.dir, 'storage', q[q.length - 1].blobKey));
            }
          }
          verdicts.push({ mutant, source: name, file, kept });
        } catch (e) {
          verdicts.push({ mutant, source: name, file, refused: e });
        }
      }
    }
    const kinds = new Set(verdicts.map((v) => v.mutant.kind));
    expect(kinds.size).toBe(10);

    // Refused: always with a catalogued error; structural damage names the byte it was found at.
    for (const v of verdicts.filter((x) => x.refused)) {
      const e = v.refused;
      expect(isLanternError(e), `${v.source}: ${v.mutant.what}: ${String(e)}`).toBe(true);
      if (e instanceof DicomFormatError && e.code !== 'LNT_DICOM_MISSING_ATTRIBUTE')
        expect(e.offset, `${v.source}: ${v.mutant.what}: ${e.message}`).toBeTypeOf('number');
    }
    expect(leftoverTemp(join(archive.dir, 'storage'))).toEqual([]);

    // Kept: what the archive would serve, other toolkits read without an error.
    const kept = verdicts.filter((x) => x.kept);
    const keptFiles = kept.map((v, i) => {
      const f = join(work, `kept${i}.dcm`);
      writeFileSync(f, v.kept!);
      return f;
    });
    const dump = dcmdumpErrors(keptFiles);
    const py = pydicomErrors(keptFiles);
    const unreadable = kept
      .map((v, i) => ({ v, dcmdump: dump[i], pydicom: py[i] }))
      .filter((x) => x.dcmdump || x.pydicom)
      .map(
        (x) =>
          `${x.v.source}: ${x.v.mutant.what}: dcmdump ${x.dcmdump ?? 'ok'}, pydicom ${x.pydicom ?? 'ok'}`,
      );
    expect(unreadable).toEqual([]);

    // The mutants the archive refused that both toolkits also fail on, as a measure of agreement.
    const refusedFiles = verdicts.filter((x) => x.refused).map((x) => x.file);
    const refusedDump = dcmdumpErrors(refusedFiles);
    const refusedPy = pydicomErrors(refusedFiles);
    const alsoBroken = refusedFiles.filter((_, i) => refusedDump[i] || refusedPy[i]).length;
    // Most refusals are of files at least one of them cannot read either (the rest: stray item delimiters
    // and sequence lengths that DCMTK and pydicom step over).
    expect(alsoBroken / refusedFiles.length).toBeGreaterThan(0.5);
    expect(refusedFiles.length).toBeGreaterThan(verdicts.length / 2);
  });

  it('over C-STORE, a broken data set gets a failure status whose Error Comment names the offset', async () => {
    const source = readFileSync(join(pydicomDataDir(), 'test_files', 'reportsi.dcm'));
    const parsed = parseDicom(source, { untilPixelData: true });
    const sopClass = getString(parsed.dataset, Tag.SOPClassUID)!;
    const sopUid = getString(parsed.dataset, Tag.SOPInstanceUID)!;
    const wanted = [
      'stray sequence delimiter',
      'stray item delimiter',
      'missing item delimiter',
      'missing sequence delimiter',
      'VR unknown',
    ];
    const cases = mutants(source, SEED, 200).filter(
      (m, i, all) => wanted.includes(m.kind) && all.findIndex((x) => x.kind === m.kind) === i,
    );
    expect(cases.map((c) => c.kind).sort()).toEqual([...wanted].sort());
    const ts = parsed.transferSyntax.uid;
    const before = await archive.app.index.counts();
    for (const m of cases) {
      const p = await RawPeer.associated(
        archive.port,
        associateRq('STORESCU', [{ id: 1, abstractSyntax: sopClass, transferSyntaxes: [ts] }]),
      );
      const command = encodeCommand({
        AffectedSOPClassUID: sopClass,
        CommandField: CommandField.C_STORE_RQ,
        MessageID: 7,
        Priority: 0,
        CommandDataSetType: 0,
        AffectedSOPInstanceUID: sopUid,
      });
      const data = m.bytes.subarray(parsed.datasetOffset);
      p.write(
        encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: command }] }),
      );
      p.write(encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: false, last: true, data }] }));
      const rsp = (await p.next()) as Extract<Pdu, { type: 'P-DATA-TF' }>;
      const c = decodeCommand(rsp.pdvs[0].data);
      expect([0xc000, 0xa900], `${m.kind}: ${m.what}`).toContain(Number(c.Status));
      expect(String(c.ErrorComment), m.what).toMatch(/^at byte \d+: /);
      expect(String(c.ErrorComment).length).toBeLessThanOrEqual(64);
      p.write(encodePdu({ type: 'A-RELEASE-RQ' }));
      expect(await p.next()).toMatchObject({ type: 'A-RELEASE-RP' });
      p.destroy();
    }
    expect(await archive.app.index.counts()).toEqual(before);
    expect(leftoverTemp(join(archive.dir, 'storage'))).toEqual([]);
  });
});
