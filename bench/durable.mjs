// The durable reference of the ingest benchmarks: what the disk allows. A receiver in a process of its own
// takes each object's bytes over TCP (a 4-byte length, then the bytes), writes them to a new file, fsyncs
// the file and its folder at the same time and answers one byte; nothing is parsed or indexed. The sender
// sends the same files as storescu does, one object at a time per connection, so each connection waits
// for every acknowledgement as a C-STORE SCU waits for its response.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Starts the receiver writing into `dir`; resolves with its port and stop(). */
export function startDurableReceiver(dir) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) {
        resolve({
          port: Number(m[1]),
          stop: () =>
            new Promise((ok) => {
              p.once('close', ok);
              p.kill('SIGTERM');
            }),
        });
      }
    });
    p.once('error', reject);
    p.once('close', (code) => reject(new Error(`durable receiver exited ${code}`)));
  });
}

/** Sends every file of each folder over its own connection; resolves with the seconds taken. */
export async function sendDurable(port, dirs) {
  const t = process.hrtime.bigint();
  await Promise.all(
    dirs.map(async (d) => {
      const sock = connect({ port, host: '127.0.0.1', noDelay: true });
      await new Promise((ok, fail) => sock.once('connect', ok).once('error', fail));
      let waiting;
      sock.on('data', (b) => {
        for (let i = 0; i < b.length; i++) waiting?.();
      });
      for (const name of readdirSync(d).sort()) {
        const bytes = await readFile(join(d, name));
        const head = Buffer.alloc(4);
        head.writeUInt32BE(bytes.length);
        const acked = new Promise((ok) => (waiting = ok));
        sock.write(head);
        sock.write(bytes);
        await acked;
      }
      sock.end();
      await new Promise((ok) => sock.once('close', ok));
    }),
  );
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function serve(dir) {
  const folder = await open(dir, 'r');
  let n = 0;
  const server = createServer({ noDelay: true }, (sock) => {
    let pending = Buffer.alloc(0);
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const len = pending.readUInt32BE(0);
        const bytes = pending.subarray(4, 4 + len);
        pending = pending.subarray(4 + len);
        const fh = await open(join(dir, `${++n}.dcm`), 'wx');
        await fh.write(bytes);
        await Promise.all([fh.sync(), folder.sync()]);
        await fh.close();
        sock.write(Buffer.of(1));
      }
      busy = false;
    };
    sock.on('data', (b) => {
      pending = pending.length ? Buffer.concat([pending, b]) : b;
      void pump();
    });
    sock.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (process.argv[2] === 'serve') await serve(process.argv[3]);
