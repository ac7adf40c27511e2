// Receiving a 1 GB instance over C-STORE (DCMTK storescu as the sender): peak resident memory of the Lantern
// server process (target: under 200 MB), and its time against storescp receiving the same file.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeLargeFile } from './large-file.mjs';

const env = { ...process.env, TCP_NODELAY: '1' };
const run = (cmd, args) =>
  new Promise((ok, fail) => {
    const p = spawn(cmd, args, { env });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) =>
      code === 0 ? ok() : fail(new Error(`${cmd} exited ${code}: ${err.slice(-300)}`)),
    );
  });

export async function run_() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-1g-'));
  try {
    const file = join(work, 'big.dcm');
    const size = writeLargeFile(file, 2000); // 512 x 512 x 2 bytes x 2000 frames = 1.05 GB
    const rx = join(work, 'rx');
    mkdirSync(rx);
    const port = 30000 + Math.floor(Math.random() * 10000);
    const scp = spawn('storescp', ['-od', rx, String(port)], { env });
    await new Promise((r) => setTimeout(r, 400));
    let t = process.hrtime.bigint();
    await run('storescu', ['-aec', 'ANY', '127.0.0.1', String(port), file]);
    const refSecs = Number(process.hrtime.bigint() - t) / 1e9;
    scp.kill();
    const data = join(work, 'data');
    const bin = resolve('bin/lantern.js');
    await run('node', [bin, 'ae', 'add', 'STORESCU', '--allow', 'store', '--data', data]);
    const srv = spawn(
      'node',
      [bin, 'serve', '--data', data, '--dicom-port', String(port + 1), '--http-port', '0'],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    await new Promise((ok) => srv.stderr.on('data', (d) => /lantern started/.test(String(d)) && ok()));
    t = process.hrtime.bigint();
    await run('storescu', ['-aet', 'STORESCU', '-aec', 'LANTERN', '127.0.0.1', String(port + 1), file]);
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]) / 1024;
    srv.kill('SIGTERM');
    console.log(
      `C-STORE of a ${(size / 1e9).toFixed(2)} GB instance: server peak RSS ${hwm.toFixed(0)} MB (target < 200 MB)`,
    );
    console.log(
      `  ${(size / 1e6 / secs).toFixed(0)} MB/s, storescp ${(size / 1e6 / refSecs).toFixed(0)} MB/s, ratio ${(refSecs / secs).toFixed(2)}`,
    );
    return { hwm };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
export { run_ as run };

if (import.meta.url === `file://${process.argv[1]}`) await run_();
