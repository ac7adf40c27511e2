// The cost of auditing C-STORE: the same storescu run (TCP_NODELAY=1, one association, 1,000 CT instances of
// about 130 KB) against Lantern in this process with its audit trail on and off, alternating rounds on fresh
// archives; medians, and the median of the paired per-round costs. Target: auditing costs under 10% of ingest throughput.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../dist/config.js';
import { createApp, startDicom } from '../dist/main.js';
import { ctFile } from './corpus.mjs';

const COUNT = Number(process.env.BENCH_FILES ?? 1000);
const ROUNDS = 7;
const env = { ...process.env, TCP_NODELAY: '1' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function storescu(port, dir) {
  return new Promise((ok, fail) => {
    const p = spawn(
      'storescu',
      ['-aet', 'BENCHSCU', '-aec', 'LANTERN', '+sd', '127.0.0.1', String(port), dir],
      { env },
    );
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) =>
      code === 0 ? ok() : fail(new Error(`storescu exited ${code}: ${err.slice(-300)}`)),
    );
  });
}

async function round(files, audited) {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-audit-'));
  const app = await createApp(loadConfig({ env: {}, flags: { dataDir: dir } }), pino({ level: 'silent' }));
  await app.aes.add({ aeTitle: 'BENCHSCU', host: '', port: 0, permissions: ['store'] });
  const server = await startDicom(app, {
    host: '127.0.0.1',
    port: 0,
    ...(audited ? {} : { audit: undefined }),
  });
  try {
    const t = process.hrtime.bigint();
    await storescu(server.address(0).port, files);
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    // The association's record is written when it ends: wait for it, so that its cost is counted.
    if (audited) {
      for (let i = 0; i < 200 && !(await app.audit.list({ eventId: '110104' }, 1, 0)).length; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const records = (await app.audit.list({}, 1000, 0)).length;
    return { rate: COUNT / secs, records };
  } finally {
    await server.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-audit-corpus-'));
  try {
    const files = join(work, 'files');
    mkdirSync(files);
    for (let i = 0; i < COUNT; i++) {
      writeFileSync(
        join(files, `ct${i}.dcm`),
        ctFile(i, { study: Math.floor(i / 100), rows: 256, columns: 256 }),
      );
    }
    const on = [];
    const off = [];
    const costs = [];
    let records = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const a = await round(files, r % 2 === 0);
      const b = await round(files, r % 2 !== 0);
      const [audited, plain] = r % 2 === 0 ? [a, b] : [b, a];
      on.push(audited.rate);
      off.push(plain.rate);
      // Paired: each round's two runs meet the same disk and cache state, so their ratio cancels drift.
      costs.push(1 - audited.rate / plain.rate);
      records = audited.records;
    }
    const cost = median(costs);
    console.log(
      `C-STORE, ${COUNT} CT instances, one association: audit on ${median(on).toFixed(0)} files/s, off ${median(off).toFixed(0)} files/s; ` +
        `median paired cost ${(cost * 100).toFixed(1)}% over ${ROUNDS} rounds (target < 10%); ${records} audit records per run`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
