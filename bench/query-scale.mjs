// Study queries on the large corpus the targets name: 100,000 studies of 10 small CT instances (1,000,000
// instances, 40,000 patients, dates over ten years, one study in 200 PT), made by our own writer and stored
// through Lantern's own ingest service in this process (the same path C-STORE and STOW-RS take, durable
// object by object, without the network: storing a million objects over DIMSE takes longer than a run can
// spare), then `lantern serve` on that archive answers C-FIND (one association of our own SCU) and QIDO-RS
// (HTTP keep-alive) for the four searches of bench/query.mjs. Target: median under 10 ms.
//
// Orthanc is not loaded with this corpus: it stores small instances at about 400/s on this machine (see
// bench/query.mjs), so a million would take about 45 minutes; its figures at 100,000 instances are in
// bench/query.mjs, where it already answers these searches in 24–300 ms.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../dist/config.js';
import { Tag } from '../dist/core/dicom/dictionary.js';
import { createApp } from '../dist/main.js';
import { Dataset, EXPLICIT_LITTLE } from '../dist/core/dicom/dataset.js';
import { bytesElement, numberElement, stringElement } from '../dist/core/dicom/encode.js';
import { buildMeta, encodePart10 } from '../dist/core/dicom/writer.js';
import { bin, env, startLantern } from './lantern.mjs';
import { FAMILY, dateOf, finder, pct, qido, rnd, search } from './query.mjs';

const STUDIES = Number(process.env.BENCH_SCALE_STUDIES ?? 100000);
const PER_STUDY = Number(process.env.BENCH_SCALE_PER_STUDY ?? 10);
/** An archive folder to keep between runs: loaded when missing, queried as it is when there. */
const KEEP = process.env.BENCH_SCALE_DATA;
const PATIENTS = STUDIES * 0.4;
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
/** Objects in flight at once, as several modalities sending at the same time. */
const IN_FLIGHT = Number(process.env.BENCH_SCALE_IN_FLIGHT ?? 32);

const ROOT = '2.25.318104856411278629561096104384316229';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const PIXELS = new Uint8Array(16 * 16 * 2);

/**
 * Instance `n`: a 16x16 CT image with the attributes a study list and these searches use (a compact header,
 * so that a million load in minutes; the instance-level attributes play no part in a study query).
 */
function instance(n) {
  const i = Math.floor(n / PER_STUDY);
  const p = i % PATIENTS;
  const sop = `${ROOT}.${n + 1}`;
  const str = (tag, vr, v) => stringElement(tag, vr, [v]);
  const ds = new Dataset(
    [
      str(Tag.SpecificCharacterSet, 'CS', 'ISO_IR 100'),
      str(Tag.SOPClassUID, 'UI', CT),
      str(Tag.SOPInstanceUID, 'UI', sop),
      str(Tag.StudyDate, 'DA', dateOf(i % 3650)),
      str(Tag.StudyTime, 'TM', '101500'),
      str(Tag.AccessionNumber, 'SH', `A${i}`),
      str(Tag.Modality, 'CS', i % 200 === 0 ? 'PT' : i % 3 ? 'CT' : 'MR'),
      str(Tag.ReferringPhysicianName, 'PN', 'WELBY^MARCUS'),
      str(Tag.StudyDescription, 'LO', 'CHEST ABDOMEN PELVIS'),
      str(Tag.SeriesDescription, 'LO', 'AXIAL 5MM'),
      str(Tag.PatientName, 'PN', `${FAMILY[p % 10]}^PAT${p}`),
      str(Tag.PatientID, 'LO', `P${p}`),
      str(Tag.PatientBirthDate, 'DA', '19700101'),
      str(Tag.PatientSex, 'CS', p % 2 ? 'F' : 'M'),
      str(Tag.StudyInstanceUID, 'UI', `${ROOT}.0.${i + 1}`),
      str(Tag.SeriesInstanceUID, 'UI', `${ROOT}.0.${i + 1}.1`),
      str(Tag.StudyID, 'SH', String(i)),
      str(Tag.SeriesNumber, 'IS', '1'),
      str(Tag.InstanceNumber, 'IS', String((n % PER_STUDY) + 1)),
      numberElement(Tag.SamplesPerPixel, 'US', [1]),
      str(Tag.PhotometricInterpretation, 'CS', 'MONOCHROME2'),
      numberElement(Tag.Rows, 'US', [16]),
      numberElement(Tag.Columns, 'US', [16]),
      numberElement(Tag.BitsAllocated, 'US', [16]),
      numberElement(Tag.BitsStored, 'US', [12]),
      numberElement(Tag.HighBit, 'US', [11]),
      numberElement(Tag.PixelRepresentation, 'US', [0]),
      bytesElement(Tag.PixelData, 'OW', PIXELS),
    ],
    EXPLICIT_LITTLE,
  );
  const meta = buildMeta({
    sopClassUid: CT,
    sopInstanceUid: sop,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    implementationClassUid: '2.25.196582671211553486936946622043397729514',
  });
  return Buffer.from(encodePart10({ meta, dataset: ds }));
}

async function load(data) {
  const app = await createApp(loadConfig({ env: {}, flags: { dataDir: data } }), pino({ level: 'silent' }));
  const total = STUDIES * PER_STUDY;
  let next = 0;
  let stored = 0;
  const t = process.hrtime.bigint();
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < total) {
          const n = next++;
          const out = await app.ingest.ingest({ chunks: [instance(n)], source: 'BENCH' });
          if (out.status !== 'stored') throw new Error(`object ${n}: ${out.status}`);
          if (++stored % 100000 === 0) {
            const s = Number(process.hrtime.bigint() - t) / 1e9;
            console.log(`  ${stored} stored, ${(stored / s).toFixed(0)}/s`);
          }
        }
      }),
    );
  } finally {
    await app.close();
  }
  return total / (Number(process.hrtime.bigint() - t) / 1e9);
}

export async function run() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-query-scale-'));
  let server;
  try {
    const data = KEEP ?? join(work, 'lantern');
    const cli = (...args) => execFileSync('node', [bin, ...args, '--data', data], { env, encoding: 'utf8' });
    if (!KEEP || !existsSync(data)) {
      const rate = await load(data);
      console.log(
        `${STUDIES * PER_STUDY} instances (${STUDIES} studies, ${PATIENTS} patients) stored through the ingest service: ${rate.toFixed(0)}/s`,
      );
      cli('ae', 'add', 'BENCHSCU', '--allow', 'find');
      cli('user', 'add', 'bench-viewer', '--role', 'clinician', '--service');
    }
    const token = cli('token', 'create', '--user', 'bench-viewer').trim();
    const [dicomPort, httpPort] = [30000 + rnd(10000), 40000 + rnd(10000)];
    server = await startLantern(data, dicomPort, httpPort);
    const ours = await finder(dicomPort, 'LANTERN');
    const base = `http://127.0.0.1:${httpPort}`;
    const auth = { Authorization: `Bearer ${token}` };
    for (const kind of ['patient id', 'name prefix', '30-day range', 'modalities in study']) {
      const cfind = [];
      const qidoMs = [];
      const matches = [];
      for (let i = 0; i < QUERIES + 20; i++) {
        const s = search(kind, PATIENTS);
        const f = await ours.find(s.keys);
        const q = await qido(base, s.qs, auth);
        if (i < 20) continue;
        cfind.push(f.ms);
        qidoMs.push(q.ms);
        matches.push(f.matches);
      }
      const line = (label, xs) =>
        `  ${label}: lantern median ${pct(xs, 0.5).toFixed(2)} ms (p95 ${pct(xs, 0.95).toFixed(2)})`;
      console.log(
        `${kind}, ${STUDIES} studies of ${STUDIES * PER_STUDY} instances, median ${pct(matches, 0.5)} matches (target: median < 10 ms)`,
      );
      console.log(line('C-FIND ', cfind));
      console.log(line('QIDO-RS', qidoMs));
    }
    await ours.close();
  } finally {
    server?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
