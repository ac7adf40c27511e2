// Ingest as the index grows: 100,000 small CT instances (16x16, 1,000 studies of 100) sent by DCMTK's
// storescu over four associations (TCP_NODELAY=1), to Lantern and to Orthanc (Debian's, defaults) in the
// same run. The archive's instance count is read every half second; the report gives the rate over the
// first 10,000 instances and over the last 10,000. Target: Lantern's last within 10% of its first.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ctFile } from './corpus.mjs';
import { bin, env, startLantern, storescu } from './lantern.mjs';
import { ensureOrthanc, startOrthanc } from './orthanc.mjs';

const COUNT = Number(process.env.BENCH_SCALE_INSTANCES ?? 100000);
const SLICE = Math.min(10000, Math.floor(COUNT / 5));

/** Sends while counting every half second; the seconds the first and the last SLICE instances took. */
async function measure(label, port, aec, dirs, count) {
  const samples = [];
  const t0 = performance.now();
  let done = false;
  const sending = storescu(port, aec, dirs).finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setTimeout(r, 500));
    samples.push([(performance.now() - t0) / 1000, await count()]);
  }
  await sending;
  samples.push([(performance.now() - t0) / 1000, await count()]);
  const total = samples.at(-1)[1];
  if (total < COUNT) throw new Error(`${label} holds ${total} of ${COUNT} instances`);
  // The time the archive reached n instances, interpolated between samples.
  const at = (n) => {
    let prev = [0, 0];
    for (const s of samples) {
      if (s[1] >= n) return prev[0] + ((n - prev[1]) / Math.max(1, s[1] - prev[1])) * (s[0] - prev[0]);
      prev = s;
    }
    return samples.at(-1)[0];
  };
  const first = SLICE / at(SLICE);
  const last = SLICE / (at(COUNT) - at(COUNT - SLICE));
  const overall = COUNT / samples.at(-1)[0];
  console.log(
    `${label}: ${overall.toFixed(0)}/s overall, first ${SLICE}: ${first.toFixed(0)}/s, last ${SLICE}: ${last.toFixed(0)}/s, last / first ${(last / first).toFixed(2)}`,
  );
  return { first, last, overall };
}

export async function run() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-scale-'));
  const procs = [];
  let orthanc;
  try {
    const dirs = [0, 1, 2, 3].map((k) => join(work, `src${k}`));
    dirs.forEach((d) => mkdirSync(d));
    for (let i = 0; i < COUNT; i++) {
      writeFileSync(
        join(dirs[i % 4], `i${String(i).padStart(6, '0')}.dcm`),
        ctFile(i, { study: Math.floor(i / 100), rows: 16, columns: 16 }),
      );
    }
    const data = join(work, 'lantern');
    execFileSync('node', [bin, 'ae', 'add', 'BENCHSCU', '--allow', 'store', '--data', data], { env });
    const port = 30000 + Math.floor(Math.random() * 10000);
    const srv = await startLantern(data, port);
    procs.push(srv);
    const db = new Database(join(data, 'index.sqlite'), { readonly: true });
    const ours = await measure('lantern', port, 'LANTERN', dirs, async () =>
      Number(db.prepare('select count(*) as n from instance').get().n),
    );
    db.close();
    srv.kill('SIGTERM');
    if (ensureOrthanc()) {
      orthanc = await startOrthanc();
      const theirs = await measure('orthanc', orthanc.dicomPort, orthanc.aeTitle, dirs, async () =>
        Number((await orthanc.rest('GET', '/statistics')).CountInstances),
      );
      console.log(
        `lantern / orthanc: overall ${(ours.overall / theirs.overall).toFixed(2)}, last ${SLICE} ${(ours.last / theirs.last).toFixed(2)} (target: lantern's last / first >= 0.9)`,
      );
    } else console.log('Orthanc is not installed and cannot be (not root): left out');
  } finally {
    await orthanc?.stop();
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
