// What the over-the-wire benchmarks share: `lantern serve` in a process of its own, DCMTK's tools run with
// TCP_NODELAY=1.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const env = { ...process.env, TCP_NODELAY: '1' };
export const bin = resolve('bin/lantern.js');

/** Runs a command; resolves with what it printed, fails with the end of it when it exits non-zero. */
export function exec(cmd, args) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) =>
      code === 0 ? ok(out) : fail(new Error(`${cmd} exited ${code}: ${out.slice(-400)}`)),
    );
  });
}

/** storescu sending each folder over its own association, all at once; resolves when all are done. */
export function storescu(port, aec, dirs) {
  return Promise.all(
    dirs.map((d) => exec('storescu', ['-aet', 'BENCHSCU', '-aec', aec, '+sd', '127.0.0.1', String(port), d])),
  );
}

/** `lantern serve` on these ports over `data`; resolves with the process once it has started. */
export function startLantern(data, dicomPort, httpPort = 0) {
  return new Promise((ok, fail) => {
    const p = spawn(
      'node',
      [
        ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []),
        bin,
        'serve',
        '--data',
        data,
        '--dicom-port',
        String(dicomPort),
        '--http-port',
        String(httpPort),
      ],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const seen = (d) => {
      out += d;
      if (out.includes('lantern started')) ok(p);
    };
    p.stdout.on('data', seen);
    p.stderr.on('data', seen);
    p.on('exit', (code) => fail(new Error(`lantern exited ${code}: ${out.slice(-400)}`)));
  });
}
