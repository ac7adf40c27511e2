// WADO-RS whole-study retrieval over real HTTP (multipart/related, every instance streamed from storage)
// against the same files streamed to the socket by a plain Node server with fs.createReadStream, alternating
// rounds in this process; medians of the rates. Target: at least 0.8x the plain stream.
import { mkdtempSync, rmSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig, storageRoot } from '../dist/config.js';
import { createApp } from '../dist/main.js';
import { buildHttpServer } from '../dist/servers/http/server.js';
import { benchToken, ctFile } from './corpus.mjs';

const INSTANCES = Number(process.env.BENCH_WADO_INSTANCES ?? 400);
const ROUNDS = 11;

/** Downloads a URL, counting bytes; MB/s. */
function download(url, headers) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    get(url, { headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`));
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => resolve({ bytes: n, mbps: n / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-wado-'));
  const config = loadConfig({ env: {}, flags: { dataDir: dir } });
  const app = await createApp(config, pino({ level: 'silent' }));
  const http = await buildHttpServer(app);
  let plain;
  try {
    let study;
    for (let i = 0; i < INSTANCES; i++) {
      const o = await app.ingest.ingest({ chunks: [ctFile(i, { study: 7 })], source: 'BENCH' });
      study = o.studyUid;
    }
    const rows = await app.retrieve.instances([{ tag: 0x0020000d, vr: 'UI', value: study }]);
    const files = rows.map((r) => join(storageRoot(config), r.blobKey));
    plain = createServer(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (const f of files) {
        await new Promise((resolve, reject) => {
          const s = createReadStream(f, { highWaterMark: 256 * 1024 });
          s.on('end', resolve).on('error', reject);
          s.pipe(res, { end: false });
        });
      }
      res.end();
    });
    await new Promise((r) => plain.listen(0, '127.0.0.1', r));
    await http.listen({ host: '127.0.0.1', port: 0 });
    const wadoUrl = `http://127.0.0.1:${http.server.address().port}/dicom-web/studies/${study}`;
    const plainUrl = `http://127.0.0.1:${plain.address().port}/`;
    const accept = {
      Accept: 'multipart/related; type="application/dicom"',
      Authorization: await benchToken(app),
    };
    const ours = [];
    const ref = [];
    const ratios = [];
    let size = 0;
    for (let r = 0; r < ROUNDS + 1; r++) {
      // Alternate which goes first, so neither always meets the other's leftovers (GC, cache).
      const first = r % 2 ? await download(wadoUrl, accept) : await download(plainUrl, {});
      const second = r % 2 ? await download(plainUrl, {}) : await download(wadoUrl, accept);
      const [b, a] = r % 2 ? [first, second] : [second, first];
      size = b.bytes;
      if (r === 0) continue; // warm-up: page cache, JIT
      ref.push(a.mbps);
      ours.push(b.mbps);
      ratios.push(b.mbps / a.mbps);
    }
    console.log(
      `WADO-RS study of ${rows.length} CT instances (${(size / 1e6).toFixed(0)} MB): median ${median(ours).toFixed(0)} MB/s; ` +
        `plain fs.createReadStream server ${median(ref).toFixed(0)} MB/s; median ratio of ${ROUNDS} paired rounds ` +
        `${median(ratios).toFixed(2)} (target >= 0.8)`,
    );
  } finally {
    plain?.close();
    await http.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
