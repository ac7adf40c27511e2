// Study queries over the wire, Lantern against Orthanc in the same run: 10,000 studies of 10 small CT
// instances each (100,000 instances; 4,000 patients, dates over ten years, one study in 200 with Modality
// PT) stored into both by DCMTK's storescu over four associations (the load rates are reported too), then C-FIND (one association
// of our own SCU per archive) and QIDO-RS (HTTP keep-alive) for the four searches of a worklist: exact
// Patient ID, a name prefix, a 30-day date range, ModalitiesInStudy=PT. Queries alternate between the two
// archives; medians and 95th percentiles. Targets: median under 5 ms, at least 5x faster than Orthanc.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tag } from '../dist/core/dicom/dictionary.js';
import { CommandField } from '../dist/core/dimse/command.js';
import { identifierFrom } from '../dist/cli/scu.js';
import { Association } from '../dist/net/dimse/association.js';
import { ctFile } from './corpus.mjs';
import { bin, env, startLantern, storescu } from './lantern.mjs';
import { ensureOrthanc, startOrthanc } from './orthanc.mjs';

const STUDIES = Number(process.env.BENCH_QUERY_STUDIES ?? 10000);
const PER_STUDY = Number(process.env.BENCH_QUERY_PER_STUDY ?? 10);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
export const FAMILY = [
  'SMITH',
  'JONES',
  'TANAKA',
  'MULLER',
  'GARCIA',
  'CHEN',
  'KIM',
  'NGUYEN',
  'DUBOIS',
  'ROSSI',
];
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
export const rnd = (n) => Math.floor(Math.random() * n);
export const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

export function dateOf(day) {
  const d = new Date(Date.UTC(2016, 0, 1) + day * 86400000);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

async function load(port, aec, dirs) {
  const t = process.hrtime.bigint();
  await storescu(port, aec, dirs);
  return (STUDIES * PER_STUDY) / (Number(process.hrtime.bigint() - t) / 1e9);
}

/** The four searches, as C-FIND keys and as a QIDO-RS query string. */
export function search(kind, patients = 4000) {
  const ret = [
    'StudyInstanceUID',
    'PatientName',
    'PatientID',
    'StudyDate',
    'ModalitiesInStudy',
    'NumberOfStudyRelatedInstances',
  ];
  const withKey = (k, v) => [`${k}=${v}`, ...ret.filter((r) => r !== k)];
  if (kind === 'patient id') {
    const pid = `P${rnd(patients)}`;
    return { keys: withKey('PatientID', pid), qs: `PatientID=${pid}` };
  }
  if (kind === 'name prefix') {
    const name = `${FAMILY[rnd(10)]}^PAT${rnd(patients / 10)}*`;
    return { keys: withKey('PatientName', name), qs: `PatientName=${encodeURIComponent(name)}` };
  }
  if (kind === '30-day range') {
    const start = rnd(3620);
    const range = `${dateOf(start)}-${dateOf(start + 29)}`;
    return { keys: withKey('StudyDate', range), qs: `StudyDate=${range}&limit=1000` };
  }
  return { keys: withKey('ModalitiesInStudy', 'PT'), qs: 'ModalitiesInStudy=PT' };
}

export async function finder(port, aec) {
  const a = await Association.connect({
    host: '127.0.0.1',
    port,
    callingAeTitle: 'BENCHSCU',
    calledAeTitle: aec,
    contexts: [
      { abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'] },
    ],
    implementationClassUid: '1.2.826.0.1.3680043.10.1137.98',
    implementationVersionName: 'LANTERN_BENCH',
  });
  const ctx = a.acceptedContext(STUDY_ROOT_FIND);
  return {
    async find(keys) {
      const t = process.hrtime.bigint();
      let matches = 0;
      for await (const r of a.request(
        ctx.id,
        { CommandField: CommandField.C_FIND_RQ, AffectedSOPClassUID: STUDY_ROOT_FIND, Priority: 0 },
        identifierFrom(keys, 'STUDY', ctx.transferSyntax),
      )) {
        const status = Number(r.command.Status);
        if (status === 0xff00 || status === 0xff01) matches++;
        else if (status !== 0) throw new Error(`C-FIND to ${aec} answered ${status.toString(16)}`);
      }
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, matches };
    },
    close: () => a.release(),
  };
}

export async function qido(base, qs, headers) {
  const t = process.hrtime.bigint();
  const res = await fetch(`${base}/dicom-web/studies?${qs}`, {
    headers: { Accept: 'application/dicom+json', ...headers },
  });
  if (res.status !== 200 && res.status !== 204) throw new Error(`QIDO-RS ${base} answered ${res.status}`);
  const body = res.status === 200 ? await res.json() : [];
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, matches: body.length };
}

export async function run() {
  if (!ensureOrthanc()) {
    console.log('Orthanc is not installed and cannot be (not root): left out');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-query-'));
  const procs = [];
  let orthanc;
  try {
    const dirs = [0, 1, 2, 3].map((k) => join(work, `src${k}`));
    dirs.forEach((d) => mkdirSync(d));
    for (let i = 0; i < STUDIES; i++) {
      const p = i % 4000;
      const modality = i % 200 === 0 ? 'PT' : i % 3 ? 'CT' : 'MR';
      for (let k = 0; k < PER_STUDY; k++) {
        const n = i * PER_STUDY + k;
        const bytes = ctFile(n, {
          study: i,
          rows: 16,
          columns: 16,
          strings: [
            [Tag.PatientID, 'LO', `P${p}`],
            [Tag.PatientName, 'PN', `${FAMILY[p % 10]}^PAT${p}`],
            [Tag.PatientBirthDate, 'DA', '19700101'],
            [Tag.StudyDate, 'DA', dateOf(i % 3650)],
            [Tag.AccessionNumber, 'SH', `A${i}`],
            [Tag.Modality, 'CS', modality],
          ],
        });
        writeFileSync(join(dirs[n % 4], `s${n}.dcm`), bytes);
      }
    }
    const data = join(work, 'lantern');
    const cli = (...args) => execFileSync('node', [bin, ...args, '--data', data], { env, encoding: 'utf8' });
    cli('ae', 'add', 'BENCHSCU', '--allow', 'store,find');
    cli('user', 'add', 'bench-viewer', '--role', 'clinician', '--service');
    const token = cli('token', 'create', '--user', 'bench-viewer').trim();
    const [dicomPort, httpPort] = [30000 + rnd(10000), 40000 + rnd(10000)];
    procs.push(await startLantern(data, dicomPort, httpPort));
    orthanc = await startOrthanc({ modalities: { bench: ['BENCHSCU', '127.0.0.1', 1] } });
    const loadLantern = await load(dicomPort, 'LANTERN', dirs);
    const loadOrthanc = await load(orthanc.dicomPort, orthanc.aeTitle, dirs);
    console.log(
      `load of ${STUDIES * PER_STUDY} small instances (${STUDIES} studies) over four associations: lantern ${loadLantern.toFixed(0)}/s, orthanc ${loadOrthanc.toFixed(0)}/s, ratio ${(loadLantern / loadOrthanc).toFixed(2)}`,
    );
    const ours = await finder(dicomPort, 'LANTERN');
    const theirs = await finder(orthanc.dicomPort, orthanc.aeTitle);
    const lanternHttp = `http://127.0.0.1:${httpPort}`;
    const auth = { Authorization: `Bearer ${token}` };
    for (const kind of ['patient id', 'name prefix', '30-day range', 'modalities in study']) {
      const t = { cfindL: [], cfindO: [], qidoL: [], qidoO: [] };
      for (let i = 0; i < QUERIES + 20; i++) {
        const s = search(kind);
        // Alternating which archive goes first, so neither always meets a warm cache.
        const pair = [
          async () => ['cfindL', await ours.find(s.keys)],
          async () => ['cfindO', await theirs.find(s.keys)],
          async () => ['qidoL', await qido(lanternHttp, s.qs, auth)],
          async () => ['qidoO', await qido(orthanc.base, s.qs, {})],
        ];
        if (i % 2) pair.reverse();
        const got = {};
        for (const f of pair) {
          const [k, r] = await f();
          got[k] = r;
          if (i >= 20) t[k].push(r.ms);
        }
        // Both archives hold the same studies: the same number of matches (ModalitiesInStudy aside, where
        // a study's only modality is the question).
        if (got.cfindL.matches !== got.cfindO.matches) {
          throw new Error(
            `${kind}: lantern found ${got.cfindL.matches}, orthanc ${got.cfindO.matches} (${s.keys[0]})`,
          );
        }
      }
      const line = (label, l, o) =>
        `  ${label}: lantern median ${pct(l, 0.5).toFixed(2)} ms (p95 ${pct(l, 0.95).toFixed(2)}), orthanc ${pct(o, 0.5).toFixed(2)} ms (p95 ${pct(o, 0.95).toFixed(2)}), orthanc / lantern ${(pct(o, 0.5) / pct(l, 0.5)).toFixed(1)}x`;
      console.log(
        `${kind}, ${STUDIES} studies of ${STUDIES * PER_STUDY} instances (targets: median < 5 ms, >= 5x faster than orthanc)`,
      );
      console.log(line('C-FIND ', t.cfindL, t.cfindO));
      console.log(line('QIDO-RS', t.qidoL, t.qidoO));
    }
    await ours.close();
    await theirs.close();
  } finally {
    await orthanc?.stop();
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
