// The cost of auditing C-STORE: the same storescu run (TCP_NODELAY=1, one association, 1,000 CT instances of
// about 130 KB) against Lantern in this process with its audit trail on (each acknowledged object written
// with its transfer in its own unit of work, the association's record naming every object when it ends) and
// off (the same ingest service without an audit trail), alternating rounds on fresh archives; medians, and
// the median of the paired per-round costs (the disk's sync times vary from run to run: the spread is
// printed), this process's CPU time per object, and the bytes and write calls it issued per object (the
// same for the same work: the steady measure of what auditing adds). Target: auditing costs under 5% of ingest throughput.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../dist/config.js';
import { createApp, startDicom } from '../dist/main.js';
import { IngestService } from '../dist/services/ingest.js';
import { ctFile } from './corpus.mjs';

const COUNT = Number(process.env.BENCH_FILES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const env = { ...process.env, TCP_NODELAY: '1' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Bytes this process has written and its write calls (Linux /proc/self/io): the same for the same work. */
function written() {
  const io = readFileSync('/proc/self/io', 'utf8');
  const field = (name) => Number(new RegExp(`${name}: (\\d+)`).exec(io)?.[1] ?? 0);
  return { bytes: field('wchar'), calls: field('syscw') };
}

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
  // Off: the same ingest service without an audit trail (nothing recorded per instance or per association).
  const plain = new IngestService({
    index: app.index,
    blobs: app.blobs,
    clock: app.clock,
    implementationClassUid: '1.2.826.0.1.3680043.10.1137',
    implementationVersionName: 'BENCH',
    nodeId: app.config.node.id,
  });
  const server = await startDicom(app, { host: '127.0.0.1', port: 0, ...(audited ? {} : { ingest: plain }) });
  try {
    const t = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const io = written();
    await storescu(server.address(0).port, files);
    // The association's record is written when it ends: wait for it, so that its cost is counted.
    if (audited) {
      for (let i = 0; i < 2000 && !(await app.audit.list({ eventId: '110104' }, 1, 0)).length; i++) {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    const used = process.cpuUsage(cpu);
    const after = written();
    const records = (await app.audit.list({}, 1000, 0)).length;
    return {
      rate: COUNT / secs,
      cpuUs: (used.user + used.system) / COUNT,
      bytes: (after.bytes - io.bytes) / COUNT,
      calls: (after.calls - io.calls) / COUNT,
      records,
    };
  } finally {
    await server.close();
    await plain.close();
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
    const cpuOn = [];
    const cpuOff = [];
    const ioOn = [];
    const ioOff = [];
    let records = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const a = await round(files, r % 2 === 0);
      const b = await round(files, r % 2 !== 0);
      const [audited, plain] = r % 2 === 0 ? [a, b] : [b, a];
      on.push(audited.rate);
      off.push(plain.rate);
      cpuOn.push(audited.cpuUs);
      cpuOff.push(plain.cpuUs);
      ioOn.push(audited);
      ioOff.push(plain);
      // Paired: each round's two runs meet the same disk and cache state, so their ratio cancels drift.
      costs.push(1 - audited.rate / plain.rate);
      records = audited.records;
    }
    const cost = median(costs);
    console.log(
      `C-STORE, ${COUNT} CT instances, one association: audit on ${median(on).toFixed(0)} files/s, off ${median(off).toFixed(0)} files/s; ` +
        `median paired cost ${(cost * 100).toFixed(1)}% over ${ROUNDS} rounds (target < 5%; rounds from ` +
        `${(Math.min(...costs) * 100).toFixed(1)}% to ${(Math.max(...costs) * 100).toFixed(1)}%); Lantern's CPU per object on ${median(cpuOn).toFixed(0)} µs, ` +
        `off ${median(cpuOff).toFixed(0)} µs (+${((median(cpuOn) / median(cpuOff) - 1) * 100).toFixed(1)}%); written per object ` +
        `on ${median(ioOn.map((x) => x.bytes)).toFixed(0)} B in ${median(ioOn.map((x) => x.calls)).toFixed(1)} writes, ` +
        `off ${median(ioOff.map((x) => x.bytes)).toFixed(0)} B in ${median(ioOff.map((x) => x.calls)).toFixed(1)} writes; ` +
        `${records} audit records per run`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
