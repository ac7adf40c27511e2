// QIDO-RS /studies with fuzzymatching=true on an archive of 100,000 studies over 40,000 patients with
// realistic names (several thousand family names, accents, compound surnames): round-trip time per query,
// median and 95th percentile, for a family name, a family name and the start of a given name, a name typed
// without its accents, and a name typed as it sounds. Reference in the same run: the same patients found
// by exact PatientName matching (no fuzzy), over the same HTTP server. Target: fuzzy median under 10 ms.
// The client is another process (its JSON parsing and gunzip are a viewer's, not the server's).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../dist/config.js';
import { createApp } from '../dist/main.js';
import { buildHttpServer } from '../dist/servers/http/server.js';
import { populate } from './cfind.mjs';
import { benchToken } from './corpus.mjs';

const STUDIES = Number(process.env.BENCH_STUDIES ?? 100000);
const PATIENTS = Math.max(1, Math.floor(STUDIES * 0.4));
const START = [
  'Gar',
  'Lóp',
  'Mül',
  'Schm',
  'Sm',
  'Jo',
  'Ta',
  'Na',
  'Ko',
  'Wa',
  'Ng',
  'Ch',
  'Ki',
  'Du',
  'Ro',
  'Bé',
];
const MID = ['ci', 'ez', 'le', 'it', 'ith', 'hn', 'na', 'ka', 'ba', 'ng', 'uy', 'en', 'mu', 'bo', 'ss', 'ra'];
const END = ['a', 'son', 'er', 'i', 'o', 'ez', 'et', 'ov', 'an', 'ski', 'es', 'ö', 'ey', 'on', 'is'];
const GIVEN = ['José', 'María', 'John', 'Anne', 'Jürgen', 'Hiro', 'Mei', 'Ana', 'Luc', 'Eva', 'Omar', 'Ida'];
/** Family names: 16 x 16 x 15 = 3,840 of them, some compound. */
const family = (p) => {
  const f = (k) => START[k % 16] + MID[Math.floor(k / 16) % 16] + END[Math.floor(k / 256) % 15];
  const k = p % 3840;
  return p % 7 === 0 ? `${f(k)} ${f((k * 31) % 3840)}` : f(k);
};
const nameOf = (p) => `${family(p)}^${GIVEN[p % GIVEN.length]}`;
const fold = (s) =>
  s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
const rnd = (n) => Math.floor(Math.random() * n);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

/** A fuzzy search as a person would type it, and the exact search for the same patient. */
function searches() {
  const p = rnd(PATIENTS);
  const fam = family(p).split(' ')[0];
  const given = GIVEN[p % GIVEN.length];
  const exact = `PatientName=${encodeURIComponent(nameOf(p))}`;
  const fuzzy = [
    fold(fam),
    `${fold(fam)}^${fold(given).slice(0, 2)}`,
    fam.toUpperCase(),
    // As it sounds: the second letter doubled is spelled differently, and heard the same.
    fold(fam).replace(/^(.)(.)/, '$1$2$2'),
  ];
  return [exact, ...fuzzy.map((f) => `PatientName=${encodeURIComponent(f)}&fuzzymatching=true`)];
}

/** Runs the searches from another process, one after another: [{ ms, n }] per search. */
function client(base, auth, queries) {
  const code = `
    const { base, auth, queries } = JSON.parse(process.argv[1]);
    const out = [];
    for (const q of queries) {
      const t = process.hrtime.bigint();
      const res = await fetch(base + q, { headers: { Accept: 'application/dicom+json', Authorization: auth } });
      if (res.status !== 200) throw new Error('QIDO-RS answered ' + res.status + ' to ' + q);
      const n = (await res.json()).length;
      out.push({ ms: Number(process.hrtime.bigint() - t) / 1e6, n });
    }
    process.stdout.write(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      code,
      JSON.stringify({ base, auth, queries }),
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
  });
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-qido-fuzzy-'));
  const app = await createApp(loadConfig({ env: {}, flags: { dataDir: dir } }), pino({ level: 'silent' }));
  const http = await buildHttpServer(app);
  try {
    const t0 = Date.now();
    await populate(app.index, STUDIES, { patients: PATIENTS, nameOf });
    console.log(
      `  populated ${STUDIES} studies over ${PATIENTS} patients in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    await http.listen({ host: '127.0.0.1', port: 0 });
    const auth = await benchToken(app);
    const base = `http://127.0.0.1:${http.server.address().port}/dicom-web/studies?limit=100&`;
    // The client runs in its own process, as a viewer would: its JSON parsing and gunzip are not the
    // server's. It sends the searches one at a time and reports each round trip.
    const rounds = Array.from({ length: 250 }, () => searches());
    const times = await client(base, auth, rounds.flat());
    const exact = [];
    const direct = [];
    const fuzzy = [[], [], [], []];
    const counts = [];
    let found = 0;
    for (let i = 25; i < rounds.length; i++) {
      const [a, ...b] = times.slice(i * 5, i * 5 + 5);
      exact.push(a.ms);
      b.forEach((r, k) => {
        fuzzy[k].push(r.ms);
        counts.push(r.n);
      });
      if (b[0].n >= a.n && a.n > 0) found++;
      // The same first fuzzy search through the query service in this process (no HTTP, no audit record).
      const name = decodeURIComponent(/PatientName=([^&]*)/.exec(rounds[i][1])[1]);
      const t = process.hrtime.bigint();
      for await (const _ of app.query.query({
        level: 'STUDY',
        keys: [{ tag: 0x00100010, vr: 'PN', value: name }],
        fuzzy: true,
        includeDefaults: true,
        limit: 100,
      }))
        void _;
      direct.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const all = fuzzy.flat();
    console.log(
      `QIDO-RS fuzzy /studies, ${STUDIES} studies: median ${pct(all, 0.5).toFixed(2)} ms, p95 ${pct(all, 0.95).toFixed(2)} ms (target: median < 10 ms)`,
    );
    console.log(
      `  studies per fuzzy answer (limit 100): median ${pct(counts, 0.5)}, p95 ${pct(counts, 0.95)}`,
    );
    console.log(
      `  the query service alone (no HTTP, no audit record): median ${pct(direct, 0.5).toFixed(2)} ms`,
    );
    const names = ['family, no accents', 'family^given start', 'family, upper case', 'as it sounds'];
    names.forEach((n, k) => console.log(`  ${n}: median ${pct(fuzzy[k], 0.5).toFixed(2)} ms`));
    console.log(
      `  reference: exact PatientName, median ${pct(exact, 0.5).toFixed(2)} ms; ratio ${(pct(all, 0.5) / pct(exact, 0.5)).toFixed(2)}x; the fuzzy family search found the exact match in ${found} of ${exact.length}`,
    );
  } finally {
    await http.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
