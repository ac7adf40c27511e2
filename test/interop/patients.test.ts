import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getString } from '../../src/core/dicom/values.js';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { synthInstance, uid } from '../helpers/synth.js';

/**
 * Operations on patients' records over HTTP (docs/patients.md): each refused without two different
 * identifiers that match, and carried out with them: the stored objects rewritten (demographics changed,
 * pixel data and everything else as stored), the index and queries following, the replaced files kept.
 */
let archive: TestArchive;
let http: FastifyInstance;
let base: string;
const work = mkdtempSync(join(tmpdir(), 'lantern-patients-'));
const [s1, s2, s3] = [uid(), uid(), uid()];
const A = { patientId: 'PAT-A', patientName: 'CHAN^TAI MAN', birthDate: '19800229' };
const B = { patientId: 'PAT-B', patientName: 'LEE^SIU MING', birthDate: '19900101', phone: '91234567' };
const made = {
  a1: synthInstance({
    ...A,
    studyUid: s1,
    instanceNumber: 1,
    otherPatientIds: [{ id: 'A123456(3)', issuer: 'HKID' }],
  }),
  a2: synthInstance({
    ...A,
    studyUid: s1,
    instanceNumber: 2,
    otherPatientIds: [{ id: 'A123456(3)', issuer: 'HKID' }],
  }),
  a3: synthInstance({ ...A, studyUid: s2, otherPatientIds: [{ id: 'A123456(3)', issuer: 'HKID' }] }),
  b1: synthInstance({ ...B, studyUid: s3 }),
};
const aIds = [
  { kind: 'hkid', value: 'A123456(3)' },
  { kind: 'birthDate', value: '1980-02-29' },
];
const bIds = [
  { kind: 'name', value: 'Siu Ming Lee' },
  { kind: 'phone', value: '+852 9123 4567' },
];

beforeAll(async () => {
  archive = await startTestArchive();
  for (const m of Object.values(made))
    expect((await archive.app.ingest.ingest({ chunks: [m.bytes] })).status).toBe('stored');
  await archive.app.aes.add({ mode: 'device', aeTitle: 'FINDER', host: '', port: 0, permissions: ['find'] });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(work, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The stored object of an instance as WADO-URI sends it. */
async function retrieved(studyUid: string, seriesUid: string, sop: string): Promise<Buffer> {
  const r = await fetch(
    `${base}/wado?requestType=WADO&studyUID=${studyUid}&seriesUID=${seriesUid}&objectUID=${sop}&contentType=application/dicom`,
  );
  expect(r.status).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

/** The pixel data of a file, as bytes. */
function pixels(file: Uint8Array): Buffer {
  const p = parseDicom(file);
  return Buffer.from(file.subarray(p.pixelDataOffset!));
}

/** Runs findscu (patient root for patient-level keys, else study root); the response identifiers, parsed. */
async function findscu(args: string[]) {
  const out = mkdtempSync(join(work, 'find-'));
  const model = args.includes('QueryRetrieveLevel=PATIENT') ? '-P' : '-S';
  const r = await runDcmtk('findscu', [
    model,
    '-aet',
    'FINDER',
    '-aec',
    'LANTERN',
    '-X',
    '-od',
    out,
    ...args,
    '127.0.0.1',
    String(archive.port),
  ]);
  expect(r.code, r.out).toBe(0);
  return readdirSync(out)
    .sort()
    .map((f) => parseDicom(readFileSync(join(out, f))).dataset);
}

describe('patients over HTTP', () => {
  it('names the kinds of identifier the archive holds for a patient, never their values', async () => {
    const r = await fetch(`${base}/api/patients/PAT-A/identifiers`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(JSON.parse(text)).toEqual({ kinds: ['name', 'hkid', 'birthDate'] });
    expect(text).not.toMatch(/A123456/);
    expect((await fetch(`${base}/api/patients/NOBODY/identifiers`)).status).toBe(404);
  });

  it('refuses an edit with one identifier, two of one kind, or a wrong value, and changes nothing', async () => {
    const before = await archive.app.index.findInstance(made.a1.sopUid);
    for (const [identifiers, reason] of [
      [
        [{ kind: 'hkid', value: 'A123456(3)' }],
        /two different identifiers must match; 1 matched \(matched: hkid\)/,
      ],
      [
        [
          { kind: 'name', value: 'CHAN TAI MAN' },
          { kind: 'name', value: 'Tai Man Chan' },
        ],
        /1 matched \(matched: name\)/,
      ],
      [
        [
          { kind: 'name', value: 'Chan Tai Man' },
          { kind: 'phone', value: '99999999' },
        ],
        /1 matched \(the record holds no phone\) \(matched: name\)/,
      ],
      [
        [
          { kind: 'hkid', value: 'A123456(3)' },
          { kind: 'birthDate', value: '1980-02-28' },
        ],
        /birthDate does not match the archive's record/,
      ],
    ] as const) {
      const r = await post('/api/patients/PAT-A/edit', { identifiers, set: { name: 'CHAN^DAI MAN' } });
      const j = (await r.json()) as { code: string; message: string };
      expect([r.status, j.code], JSON.stringify(identifiers)).toEqual([422, 'LNT_PATIENT_NOT_IDENTIFIED']);
      expect(j.message).toMatch(reason);
    }
    expect(await archive.app.index.findInstance(made.a1.sopUid)).toEqual(before);
    const refused = await archive.app.audit.list({ patientId: 'PAT-A', eventId: '110110' }, 10, 0);
    expect(refused.map((r) => r.event.outcome)).toEqual([4, 4, 4, 4]);
  });

  it('edits demographics with two identifiers: every stored object rewritten, pixel data as stored', async () => {
    const original = await retrieved(s1, made.a1.seriesUid, made.a1.sopUid);
    const r = await post('/api/patients/PAT-A/edit', {
      identifiers: aIds,
      set: { name: 'CHAN^TAI MAN=陳^大文', phone: '+852 2345 6789' },
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ kind: 'edit-patient', instances: 3 });
    const now = await retrieved(s1, made.a1.seriesUid, made.a1.sopUid);
    const ds = parseDicom(now).dataset;
    expect(getString(ds, Tag.PatientName)).toBe('CHAN^TAI MAN=陳^大文');
    expect(getString(ds, Tag.PatientTelephoneNumbers)).toBe('+852 2345 6789');
    expect(getString(ds, Tag.PatientID)).toBe('PAT-A');
    expect(pixels(now).equals(pixels(original))).toBe(true);
    // The index follows: C-FIND and QIDO-RS by the new name, the old file kept as a version.
    const found = await findscu([
      '-k',
      'QueryRetrieveLevel=PATIENT',
      '-k',
      'PatientID=PAT-A',
      '-k',
      'PatientName',
    ]);
    expect(found.map((d) => getString(d, Tag.PatientName))).toEqual(['CHAN^TAI MAN=陳^大文']);
    const qido = (await (await fetch(`${base}/dicom-web/studies?PatientName=陳*`)).json()) as unknown[];
    expect(qido).toHaveLength(2);
    const row = (await archive.app.index.findInstance(made.a1.sopUid))!;
    const [version] = await archive.app.index.versionsOf(row.id);
    expect(version.sha256).toBe(
      (await import('node:crypto')).createHash('sha256').update(original).digest('hex'),
    );
    // The identifiers now include the telephone; the record of the edit names the patient.
    const kinds = (await (await fetch(`${base}/api/patients/PAT-A/identifiers`)).json()) as {
      kinds: string[];
    };
    expect(kinds.kinds).toContain('phone');
    const [edited] = await archive.app.audit.list({ patientId: 'PAT-A', eventId: '110110' }, 1, 0);
    expect(edited.event).toMatchObject({
      outcome: 0,
      action: 'U',
      outcomeDescription: 'patient edited: name, phone',
    });
  });

  it('moves a study to another patient (split) and merges a patient into another', async () => {
    const before = await retrieved(s2, made.a3.seriesUid, made.a3.sopUid);
    const refused = await post(`/api/studies/${s2}/move`, {
      identifiers: aIds,
      to: { patientId: 'PAT-B', identifiers: bIds.slice(0, 1) },
    });
    expect(refused.status).toBe(422);
    const moved = await post(`/api/studies/${s2}/move`, {
      identifiers: aIds,
      to: { patientId: 'PAT-B', identifiers: bIds },
    });
    expect(moved.status).toBe(200);
    const after = parseDicom(await retrieved(s2, made.a3.seriesUid, made.a3.sopUid)).dataset;
    expect([
      getString(after, Tag.PatientID),
      getString(after, Tag.PatientName),
      getString(after, Tag.PatientBirthDate),
    ]).toEqual(['PAT-B', 'LEE^SIU MING', '19900101']);
    // PAT-A's HKID does not follow its study to PAT-B.
    expect(after.has(Tag.OtherPatientIDsSequence)).toBe(false);
    expect(pixels(await retrieved(s2, made.a3.seriesUid, made.a3.sopUid)).equals(pixels(before))).toBe(true);
    const studies = await findscu([
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      'PatientID=PAT-B',
      '-k',
      'StudyInstanceUID',
    ]);
    expect(studies.map((d) => getString(d, Tag.StudyInstanceUID)).sort()).toEqual([s2, s3].sort());

    // Merge PAT-A (its remaining study) into PAT-B: PAT-A is gone, its objects carry PAT-B's demographics.
    const merged = await post('/api/patients/PAT-A/merge', {
      identifiers: aIds,
      into: { patientId: 'PAT-B', identifiers: bIds },
    });
    expect(merged.status).toBe(200);
    expect(await archive.app.index.findPatient('PAT-A', '')).toBeUndefined();
    const b = (await archive.app.index.findPatient('PAT-B', ''))!;
    expect((await archive.app.index.instancesOfPatients([b.id])).map((i) => i.sopInstanceUid).sort()).toEqual(
      Object.values(made)
        .map((m) => m.sopUid)
        .sort(),
    );
    for (const m of [made.a1, made.a2]) {
      const ds = parseDicom(await retrieved(s1, m.seriesUid, m.sopUid)).dataset;
      expect(getString(ds, Tag.PatientID)).toBe('PAT-B');
      expect(getString(ds, Tag.PatientName)).toBe('LEE^SIU MING');
    }
    const patients = await findscu([
      '-k',
      'QueryRetrieveLevel=PATIENT',
      '-k',
      'PatientID=PAT-*',
      '-k',
      'NumberOfPatientRelatedStudies',
    ]);
    expect(
      patients.map((d) => [getString(d, Tag.PatientID), getString(d, Tag.NumberOfPatientRelatedStudies)]),
    ).toEqual([['PAT-B', '3']]);
    // Every stored object is whole: its file matches what the index recorded.
    const verified = await archive.app.verify.run();
    expect([verified.mismatched, verified.missing]).toEqual([[], []]);
  });

  it('holds back an object for a patient whose records are being changed', async () => {
    const b = (await archive.app.index.findPatient('PAT-B', ''))!;
    const id = await archive.app.index.write((tx) =>
      tx.createChange(
        'edit-patient',
        { instances: [], fileChanges: [], patients: [], studies: [], removeIfEmpty: [], lock: [b.id] },
        'test',
        new Date().toISOString(),
      ),
    );
    const late = synthInstance({ ...B, studyUid: s3 });
    const r = await archive.app.ingest.ingest({ chunks: [late.bytes] });
    expect(r).toMatchObject({
      status: 'quarantined',
      reason: "an operation on this patient's records was under way when the object arrived",
    });
    // A second operation on the same patient meanwhile is refused.
    const busy = await post('/api/patients/PAT-B/edit', { identifiers: bIds, set: { address: 'somewhere' } });
    expect([busy.status, ((await busy.json()) as { code: string }).code]).toEqual([409, 'LNT_CONFLICT']);
    await archive.app.index.write((tx) => tx.failChange(id, 'test over', new Date().toISOString()));
  });
});
