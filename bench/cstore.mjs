// C-STORE ingest against DCMTK's storescp on the same corpus, in the same run: 2,000 CT instances of about
// 130 KB sent by DCMTK's storescu (TCP_NODELAY=1), over one association and over four in parallel.
// storescp writes files without fsync and keeps no index; Lantern fsyncs every file and records it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ctFile } from './corpus.mjs';

const COUNT = Number(process.env.BENCH_FILES ?? 2000);
const env = { ...process.env, TCP_NODELAY: '1' };

function run(cmd, args, opts = {}) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { env, ...opts });
    let err = '';
    p.stderr?.on('data', (d) => (err += d));
    p.on('close', (code) =>
      code === 0 ? ok() : fail(new Error(`${cmd} exited ${code}: ${err.slice(-500)}`)),
    );
  });
}

async function sendAll(port, aec, dirs) {
  const t = process.hrtime.bigint();
  await Promise.all(
    dirs.map((d) => run('storescu', ['-aet', 'BENCHSCU', '-aec', aec, '+sd', '127.0.0.1', String(port), d])),
  );
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function startServer(cmd, args, readyPattern) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const check = (d) => {
      out += d;
      if (readyPattern.test(out)) ok(p);
    };
    p.stdout.on('data', check);
    p.stderr.on('data', check);
    p.on('close', (code) => fail(new Error(`${cmd} exited ${code}: ${out.slice(-500)}`)));
    if (!readyPattern.source) setTimeout(() => ok(p), 500);
  });
}

export async function runCstore() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-cstore-'));
  try {
    const one = join(work, 'one');
    const four = [0, 1, 2, 3].map((k) => join(work, `four${k}`));
    [one, ...four].forEach((d) => mkdirSync(d));
    for (let i = 0; i < COUNT; i++) {
      const bytes = ctFile(i, { study: Math.floor(i / 100), rows: 256, columns: 256 });
      writeFileSync(join(one, `ct${i}.dcm`), bytes);
    }
    for (let i = 0; i < COUNT; i++) {
      const bytes = ctFile(COUNT + i, { study: 1000 + Math.floor(i / 100), rows: 256, columns: 256 });
      writeFileSync(join(four[i % 4], `ct${i}.dcm`), bytes);
    }
    const results = {};
    // Reference: storescp.
    const rxOne = join(work, 'rx1');
    const rxFour = join(work, 'rx4');
    mkdirSync(rxOne);
    mkdirSync(rxFour);
    const refPort = 30000 + Math.floor(Math.random() * 10000);
    let scp = spawn('storescp', ['-od', rxOne, String(refPort)], { env });
    await new Promise((r) => setTimeout(r, 400));
    results.refOne = await sendAll(refPort, 'ANY', [one]);
    scp.kill();
    scp = spawn('storescp', ['-od', rxFour, String(refPort + 1)], { env });
    await new Promise((r) => setTimeout(r, 400));
    results.refFour = await sendAll(refPort + 1, 'ANY', four);
    scp.kill();
    // Lantern.
    const data = join(work, 'data');
    const bin = resolve('bin/lantern.js');
    await run('node', [bin, 'ae', 'add', 'BENCHSCU', '--allow', 'store', '--data', data]);
    const port = refPort + 2;
    const srv = await startServer(
      'node',
      [bin, 'serve', '--data', data, '--dicom-port', String(port), '--http-port', '0'],
      /lantern started/,
    );
    results.oursOne = await sendAll(port, 'LANTERN', [one]);
    results.oursFour = await sendAll(port, 'LANTERN', four);
    srv.kill('SIGTERM');
    const rate = (s) => (COUNT / s).toFixed(0).padStart(6);
    console.log(
      `one association:   lantern ${rate(results.oursOne)} files/s, storescp ${rate(results.refOne)} files/s, ratio ${(results.refOne / results.oursOne).toFixed(2)} (target >= 0.6)`,
    );
    console.log(
      `four associations: lantern ${rate(results.oursFour)} files/s, storescp ${rate(results.refFour)} files/s, ratio ${(results.refFour / results.oursFour).toFixed(2)} (target >= 0.8)`,
    );
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export { runCstore as run };

if (import.meta.url === `file://${process.argv[1]}`) await runCstore();
