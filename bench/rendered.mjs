// Rendered 512x512 CT frame to JPEG over real HTTP (WADO-RS /rendered with a window): read the stored frame,
// decode, Modality and VOI LUT, JPEG encode in the worker pool, send. Each request renders a different
// instance, so no cached result is reused. Reference in the same run: sharp alone encoding the same 8-bit
// frame to JPEG in this process. Target: median under 50 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { loadConfig } from '../dist/config.js';
import { createApp } from '../dist/main.js';
import { buildHttpServer } from '../dist/servers/http/server.js';
import { benchToken, ctFile } from './corpus.mjs';

const COUNT = 120;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

/** A CT-like phantom: air around a water disc with a bone ring and noise, in Hounsfield units + 1024. */
function phantom(seed) {
  const px = new Uint8Array(512 * 512 * 2);
  const dv = new DataView(px.buffer);
  let s = seed + 1;
  const noise = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % 41) - 20;
  for (let y = 0; y < 512; y++) {
    for (let x = 0; x < 512; x++) {
      const r = Math.hypot(x - 256, y - 256);
      const hu = r > 220 ? -1000 : r > 200 ? 700 : 40 + 30 * Math.sin(x / 17) * Math.cos(y / 23);
      dv.setUint16((y * 512 + x) * 2, Math.max(0, hu + 1024 + noise()), true);
    }
  }
  return px;
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-rendered-'));
  const app = await createApp(loadConfig({ env: {}, flags: { dataDir: dir } }), pino({ level: 'silent' }));
  const http = await buildHttpServer(app);
  try {
    const urls = [];
    for (let i = 0; i < COUNT; i++) {
      const o = await app.ingest.ingest({
        chunks: [ctFile(i, { study: 3, pixels: phantom(i) })],
        source: 'BENCH',
      });
      urls.push(
        `/studies/${o.studyUid}/series/${o.seriesUid}/instances/${o.sopInstanceUid}/rendered?window=40,400`,
      );
    }
    await http.listen({ host: '127.0.0.1', port: 0 });
    const auth = await benchToken(app);
    const base = `http://127.0.0.1:${http.server.address().port}/dicom-web`;
    const times = [];
    let size = 0;
    for (let i = 0; i < COUNT; i++) {
      const t = process.hrtime.bigint();
      const res = await fetch(base + urls[i], { headers: { Accept: 'image/jpeg', Authorization: auth } });
      if (res.status !== 200) throw new Error(`rendered answered ${res.status}`);
      size = (await res.arrayBuffer()).byteLength;
      if (i >= 20) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    // Reference: sharp encoding an 8-bit 512x512 grey frame alone, in process.
    const grey = Buffer.alloc(512 * 512);
    const p = phantom(0);
    for (let k = 0; k < grey.length; k++)
      grey[k] = Math.min(255, Math.max(0, (((p[k * 2] | (p[k * 2 + 1] << 8)) - 1024 + 160) * 255) / 400));
    const ref = [];
    for (let i = 0; i < 60; i++) {
      const t = process.hrtime.bigint();
      await sharp(grey, { raw: { width: 512, height: 512, channels: 1 } })
        .toColourspace('b-w')
        .jpeg({ quality: 90 })
        .toBuffer();
      if (i >= 10) ref.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    console.log(
      `rendered 512x512 CT to JPEG over HTTP: median ${pct(times, 0.5).toFixed(1)} ms, p95 ${pct(times, 0.95).toFixed(1)} ms, ${size} bytes (target: median < 50 ms)`,
    );
    console.log(
      `  reference: sharp JPEG encode alone, median ${pct(ref, 0.5).toFixed(1)} ms; ratio ${(pct(times, 0.5) / pct(ref, 0.5)).toFixed(1)}x`,
    );
  } finally {
    await http.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
