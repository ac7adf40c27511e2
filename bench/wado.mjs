// WADO-RS whole-study retrieval over real HTTP (multipart/related, every instance streamed from storage) from
// `lantern serve` in a process of its own, fetched by curl, against the same files streamed to the socket by
// a plain Node server with fs.createReadStream, and against
// Debian's Orthanc with its DICOMweb plugin holding the same files (installed when missing, as root), in
// rounds whose order rotates; medians of the rates and of the paired ratios. Targets: at least 0.8x the
// plain stream, at least 1.5x Orthanc.
import { mkdtempSync, rmSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { execFile, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig, storageRoot } from '../dist/config.js';
import { createApp } from '../dist/main.js';
import { benchToken, ctFile } from './corpus.mjs';
import { startLantern } from './lantern.mjs';
import { ensureOrthanc, freePort, startOrthanc } from './orthanc.mjs';

const INSTANCES = Number(process.env.BENCH_WADO_INSTANCES ?? 400);
const ROUNDS = 11;

/**
 * Downloads a URL with curl, a client in a process of its own (as a viewer is), discarding the body; bytes and
 * MB/s as curl counts them.
 */
function download(url, headers) {
  return new Promise((resolve, reject) => {
    const args = ['-s', '-f', '-o', '/dev/null', '-w', '%{size_download} %{time_total}'];
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    execFile('curl', [...args, url], (err, stdout) => {
      if (err) return reject(new Error(`${url}: ${err.message}`));
      const [bytes, seconds] = stdout.trim().split(' ').map(Number);
      resolve({ bytes, mbps: bytes / 1e6 / seconds });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-wado-'));
  const config = loadConfig({ env: {}, flags: { dataDir: dir } });
  let plain;
  let server;
  try {
    // The study is stored here, then served by `lantern serve` over the same data folder.
    const app = await createApp(config, pino({ level: 'silent' }));
    let study;
    let rows;
    let token;
    try {
      for (let i = 0; i < INSTANCES; i++) {
        const o = await app.ingest.ingest({ chunks: [ctFile(i, { study: 7 })], source: 'BENCH' });
        study = o.studyUid;
      }
      rows = await app.retrieve.instances([{ tag: 0x0020000d, vr: 'UI', value: study }]);
      token = await benchToken(app);
    } finally {
      await app.close();
    }
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
    const httpPort = await freePort();
    server = await startLantern(dir, await freePort(), httpPort);
    const wadoUrl = `http://127.0.0.1:${httpPort}/dicom-web/studies/${study}`;
    const plainUrl = `http://127.0.0.1:${plain.address().port}/`;
    const accept = {
      Accept: 'multipart/related; type="application/dicom"',
      Authorization: token,
    };
    let orthanc;
    let orthancUrl;
    if (ensureOrthanc()) {
      orthanc = await startOrthanc();
      const bodies = rows.map((_, i) => ctFile(i, { study: 7 }));
      for (let i = 0; i < bodies.length; i += 4)
        await Promise.all(bodies.slice(i, i + 4).map((b) => orthanc.rest('POST', '/instances', b)));
      orthancUrl = `${orthanc.base}/dicom-web/studies/${study}`;
    }
    // What ingest wrote reaches the disk before the rounds, so write-back does not run during them.
    execFileSync('sync');
    const ours = [];
    const ref = [];
    const theirs = [];
    const ratios = [];
    const versus = [];
    let size = 0;
    try {
      for (let r = 0; r < ROUNDS + 1; r++) {
        // Rotate which goes first, so none always meets the others' leftovers (GC, cache).
        const runs = [
          ['ours', () => download(wadoUrl, accept)],
          ['plain', () => download(plainUrl, {})],
          ...(orthancUrl ? [['orthanc', () => download(orthancUrl, { Accept: accept.Accept })]] : []),
        ];
        const got = {};
        for (let i = 0; i < runs.length; i++) {
          const [name, f] = runs[(i + r) % runs.length];
          got[name] = await f();
        }
        size = got.ours.bytes;
        if (r === 0) continue; // warm-up: page cache, JIT
        ref.push(got.plain.mbps);
        ours.push(got.ours.mbps);
        ratios.push(got.ours.mbps / got.plain.mbps);
        if (got.orthanc) {
          if (Math.abs(got.orthanc.bytes - got.ours.bytes) > got.ours.bytes * 0.05)
            throw new Error(
              `Orthanc sent ${got.orthanc.bytes} bytes, Lantern ${got.ours.bytes}: not the same study`,
            );
          theirs.push(got.orthanc.mbps);
          versus.push(got.ours.mbps / got.orthanc.mbps);
        }
      }
    } finally {
      await orthanc?.stop();
    }
    console.log(
      `WADO-RS study of ${rows.length} CT instances (${(size / 1e6).toFixed(0)} MB): median ${median(ours).toFixed(0)} MB/s; ` +
        `plain fs.createReadStream server ${median(ref).toFixed(0)} MB/s; median ratio of ${ROUNDS} paired rounds ` +
        `${median(ratios).toFixed(2)} (target >= 0.8); ` +
        (theirs.length
          ? `Orthanc ${median(theirs).toFixed(0)} MB/s, Lantern / Orthanc ${median(versus).toFixed(2)} (target >= 1.5)`
          : 'Orthanc not available (not installed and not root)'),
    );
  } finally {
    plain?.close();
    server?.kill('SIGTERM');
    if (server) await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
