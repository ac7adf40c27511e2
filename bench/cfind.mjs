// C-FIND at STUDY level on an archive of 10,000 studies: time the query service takes to produce each
// answer (the server-side part of a C-FIND), median and 95th percentile, for typical worklist-style keys.
// Reference in the same run: the same number of indexed single-row lookups (findStudy by UID).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteIndex } from '../dist/adapters/index-sqlite/index.js';
import { QueryService } from '../dist/services/query.js';
import { Tag } from '../dist/core/dicom/dictionary.js';

const STUDIES = Number(process.env.BENCH_STUDIES ?? 10000);
const FAMILY = ['SMITH', 'JONES', 'TANAKA', 'MULLER', 'GARCIA', 'CHEN', 'KIM', 'NGUYEN', 'DUBOIS', 'ROSSI'];

/**
 * Fills `index` with `n` studies (one series, one instance each) over `patients` patients (4,000), patient p
 * named `nameOf(p)` (default: one of ten family names and PAT<p>).
 */
export async function populate(
  index,
  n = STUDIES,
  { patients = 4000, nameOf = (p) => `${FAMILY[p % FAMILY.length]}^PAT${p}` } = {},
) {
  const now = new Date().toISOString();
  const pn = (v) => ({ vr: 'PN', Value: [{ Alphabetic: v }] });
  const s = (vr, v) => ({ vr, Value: [v] });
  const units = [];
  for (let i = 0; i < n; i++) {
    const pid = `P${i % patients}`;
    const name = nameOf(i % patients);
    const date = `2025${String(1 + (i % 12)).padStart(2, '0')}${String(1 + (i % 28)).padStart(2, '0')}`;
    const studyUid = `2.25.1${i}`;
    const rec = {
      patient: {
        patientId: pid,
        issuer: '',
        name,
        birthDate: '19700101',
        sex: 'O',
        attrs: { '00100010': pn(name), '00100020': s('LO', pid) },
      },
      study: {
        studyUid,
        date,
        time: '101010',
        accessionNumber: `A${i}`,
        studyId: '1',
        description: 'CT HEAD',
        referringPhysician: '',
        attrs: {
          '0020000D': s('UI', studyUid),
          '00080020': s('DA', date),
          '00080050': s('SH', `A${i}`),
          '00081030': s('LO', 'CT HEAD'),
        },
      },
      series: {
        seriesUid: `2.25.2${i}`,
        modality: i % 3 ? 'CT' : 'MR',
        number: 1,
        description: '',
        attrs: { '00080060': s('CS', i % 3 ? 'CT' : 'MR') },
      },
      instance: {
        sopInstanceUid: `2.25.3${i}`,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        number: 1,
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        blobKey: `objects/x/${i}`,
        size: 1,
        sha256: 'x',
        attrsJson: '{}',
        receivedAt: now,
        sourceAet: '',
      },
    };
    units.push(
      index.write(async (tx) =>
        tx.insertInstance(
          rec,
          await tx.ingestFacts({
            sopInstanceUid: rec.instance.sopInstanceUid,
            studyUid,
            seriesUid: rec.series.seriesUid,
            patientId: pid,
            issuer: '',
          }),
        ),
      ),
    );
    if (units.length >= 500) await Promise.all(units.splice(0));
  }
  await Promise.all(units);
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-cfind-'));
  const index = openSqliteIndex({ file: join(dir, 'index.sqlite') });
  try {
    await index.migrate();
    await populate(index);
    const query = new QueryService(index, { maxResults: 1000 });
    const k = (tag, vr, value = '') => ({ tag, vr, value });
    const ret = [
      k(Tag.StudyInstanceUID, 'UI'),
      k(Tag.PatientName, 'PN'),
      k(Tag.StudyDate, 'DA'),
      k(Tag.ModalitiesInStudy, 'CS'),
      k(Tag.NumberOfStudyRelatedInstances, 'IS'),
    ];
    const queries = [
      () => [k(Tag.PatientID, 'LO', `P${Math.floor(Math.random() * 4000)}`), ...ret],
      () => [
        k(
          Tag.PatientName,
          'PN',
          `${FAMILY[Math.floor(Math.random() * 10)]}^PAT${Math.floor(Math.random() * 400)}*`,
        ),
        ...ret.slice(0, 1),
        ...ret.slice(2),
      ],
      () => [
        k(
          Tag.StudyDate,
          'DA',
          `2025030${1 + Math.floor(Math.random() * 5)}-2025030${6 + Math.floor(Math.random() * 3)}`,
        ),
        k(Tag.AccessionNumber, 'SH', `A${Math.floor(Math.random() * STUDIES)}`),
        ...ret.slice(0, 2),
      ],
      () => [k(Tag.StudyInstanceUID, 'UI', `2.25.1${Math.floor(Math.random() * STUDIES)}`), ...ret.slice(1)],
    ];
    const times = [];
    for (let i = 0; i < 50; i++)
      for await (const _ of query.query({ level: 'STUDY', keys: queries[i % 4]() })) void _;
    for (let i = 0; i < 400; i++) {
      const keys = queries[i % 4]();
      const t = process.hrtime.bigint();
      for await (const _ of query.query({ level: 'STUDY', keys })) void _;
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const ref = [];
    for (let i = 0; i < 400; i++) {
      const t = process.hrtime.bigint();
      await index.findStudy(`2.25.1${Math.floor(Math.random() * STUDIES)}`);
      ref.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ref.sort((a, b) => a - b);
    const med = times[200];
    const p95 = times[380];
    console.log(
      `C-FIND STUDY level, ${STUDIES} studies: median ${med.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (target: median < 5 ms)`,
    );
    console.log(
      `  reference single indexed lookup: median ${ref[200].toFixed(2)} ms; ratio ${(med / ref[200]).toFixed(1)}x`,
    );
    return { med, p95 };
  } finally {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
