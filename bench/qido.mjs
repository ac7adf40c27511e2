// QIDO-RS /studies over real HTTP on an archive of 10,000 studies: round-trip time per query (median and
// 95th percentile) for worklist-style searches, against the same queries answered by the query service in
// this process (the ratio is what HTTP, parameter parsing and JSON cost on top).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../dist/config.js';
import { Tag } from '../dist/core/dicom/dictionary.js';
import { createApp } from '../dist/main.js';
import { buildHttpServer } from '../dist/servers/http/server.js';
import { populate } from './cfind.mjs';
import { benchToken } from './corpus.mjs';

const STUDIES = Number(process.env.BENCH_STUDIES ?? 10000);
const FAMILY = ['SMITH', 'JONES', 'TANAKA', 'MULLER', 'GARCIA', 'CHEN', 'KIM', 'NGUYEN', 'DUBOIS', 'ROSSI'];
const rnd = (n) => Math.floor(Math.random() * n);

/** The same four searches, as QIDO-RS query strings and as query service keys. */
function searches() {
  const k = (tag, vr, value = '') => ({ tag, vr, value });
  const pid = `P${rnd(4000)}`;
  const name = `${FAMILY[rnd(10)]}^PAT${rnd(400)}*`;
  const day = 1 + rnd(5);
  const range = `2025030${day}-2025030${day + 3}`;
  const acc = `A${rnd(STUDIES)}`;
  const uid = `2.25.1${rnd(STUDIES)}`;
  return [
    [`PatientID=${pid}`, [k(Tag.PatientID, 'LO', pid)]],
    [`PatientName=${encodeURIComponent(name)}`, [k(Tag.PatientName, 'PN', name)]],
    [
      `StudyDate=${range}&AccessionNumber=${acc}`,
      [k(Tag.StudyDate, 'DA', range), k(Tag.AccessionNumber, 'SH', acc)],
    ],
    [`StudyInstanceUID=${uid}`, [k(Tag.StudyInstanceUID, 'UI', uid)]],
  ];
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-qido-'));
  const app = await createApp(loadConfig({ env: {}, flags: { dataDir: dir } }), pino({ level: 'silent' }));
  const http = await buildHttpServer(app);
  try {
    await populate(app.index, STUDIES);
    await http.listen({ host: '127.0.0.1', port: 0 });
    const auth = await benchToken(app);
    const base = `http://127.0.0.1:${http.server.address().port}/dicom-web/studies?`;
    const over = [];
    const direct = [];
    for (let i = 0; i < 450; i++) {
      const [q, keys] = searches()[i % 4];
      let t = process.hrtime.bigint();
      const res = await fetch(base + q, {
        headers: { Accept: 'application/dicom+json', Authorization: auth },
      });
      if (res.status !== 200) throw new Error(`QIDO-RS answered ${res.status}`);
      await res.json();
      const http = Number(process.hrtime.bigint() - t) / 1e6;
      t = process.hrtime.bigint();
      for await (const _ of app.query.query({ level: 'STUDY', keys, includeDefaults: true })) void _;
      const svc = Number(process.hrtime.bigint() - t) / 1e6;
      if (i >= 50) {
        over.push(http);
        direct.push(svc);
      }
    }
    const med = pct(over, 0.5);
    console.log(
      `QIDO-RS /studies, ${STUDIES} studies: median ${med.toFixed(2)} ms, p95 ${pct(over, 0.95).toFixed(2)} ms (targets: median < 5 ms, p95 < 20 ms)`,
    );
    console.log(
      `  reference: query service in process, median ${pct(direct, 0.5).toFixed(2)} ms; ratio ${(med / pct(direct, 0.5)).toFixed(1)}x`,
    );
  } finally {
    await http.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
