// `lantern import` of 2,000 512x512 CT files (fsync and indexing on SQLite), against a reference run in the
// same process: copying the same files into a folder with the same durability (fsync of file and folder,
// rename), at the same concurrency, without parsing or indexing.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPaths } from '../dist/cli/import.js';
import { loadConfig } from '../dist/config.js';
import { createApp } from '../dist/main.js';
import pino from 'pino';
import { ctFile } from './corpus.mjs';

const COUNT = Number(process.env.BENCH_FILES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

async function copyReference(files, dest) {
  let next = 0;
  const dirFh = await open(dest, 'r');
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const bytes = await readFile(files[i]);
      const tmp = join(dest, `t${i}`);
      const fh = await open(tmp, 'w');
      await fh.write(bytes);
      await fh.sync();
      await fh.close();
      await rename(tmp, join(dest, `f${i}`));
      await dirFh.sync();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await dirFh.close();
}

export async function run() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-import-'));
  try {
    const src = join(work, 'src');
    mkdirSync(src);
    const files = [];
    for (let i = 0; i < COUNT; i++) {
      const p = join(src, `ct${String(i).padStart(5, '0')}.dcm`);
      writeFileSync(p, ctFile(i, { study: Math.floor(i / 200) }));
      files.push(p);
    }
    const refDir = join(work, 'ref');
    mkdirSync(refDir);
    let t = process.hrtime.bigint();
    await copyReference(files, refDir);
    const refSecs = Number(process.hrtime.bigint() - t) / 1e9;

    const config = loadConfig({ env: {}, flags: { dataDir: join(work, 'data') } });
    const app = await createApp(config, pino({ level: 'silent' }));
    t = process.hrtime.bigint();
    const report = await importPaths(app, [src], { concurrency: CONCURRENCY, progress: false });
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    await app.close();
    if (report.stored !== COUNT)
      throw new Error(`stored ${report.stored} of ${COUNT}: ${JSON.stringify(report.rejected.slice(0, 3))}`);
    const rate = COUNT / secs;
    const refRate = COUNT / refSecs;
    console.log(
      `lantern import (fsync + SQLite index)  ${rate.toFixed(0).padStart(6)} files/s  ${(report.bytes / 1e6 / secs).toFixed(0)} MB/s`,
    );
    console.log(`reference copy with fsync              ${refRate.toFixed(0).padStart(6)} files/s`);
    console.log(
      `ratio import/copy: ${(rate / refRate).toFixed(2)}  (target: >= 500 files/s, ${COUNT} files, concurrency ${CONCURRENCY})`,
    );
    return { rate, refRate };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
