// Importing a 2 GB multi-frame object: peak resident memory of the importing process (target: under 150 MB),
// and its rate against a reference run in the same process: streaming the same file to a new file with fsync.
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  rmSync,
  openSync,
  writeSync,
  closeSync,
  fsyncSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseDicom } from '../dist/core/dicom/parser.js';
import { Tag } from '../dist/core/dicom/dictionary.js';
import { stringElement } from '../dist/core/dicom/encode.js';
import { encodePart10 } from '../dist/core/dicom/writer.js';
import { ctFile } from './corpus.mjs';

const FRAMES = Number(process.env.BENCH_FRAMES ?? 4000); // 512 x 512 x 2 bytes x 4000 = 2.1 GB

export function writeLargeFile(path, frames = FRAMES) {
  // A CT header with NumberOfFrames, then Pixel Data written in 8 MiB chunks.
  const small = parseDicom(ctFile(999999, { rows: 512, columns: 512 }));
  const frameBytes = 512 * 512 * 2;
  const total = frameBytes * frames;
  const ds = small.dataset
    .with(stringElement(Tag.NumberOfFrames, 'IS', [String(frames)]))
    .without(Tag.PixelData);
  const head = Buffer.from(encodePart10({ meta: small.meta, dataset: ds }));
  const pxHeader = Buffer.alloc(12);
  pxHeader.writeUInt16LE(0x7fe0, 0);
  pxHeader.writeUInt16LE(0x0010, 2);
  pxHeader.write('OW', 4, 'latin1');
  pxHeader.writeUInt32LE(total, 8);
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  writeSync(fd, pxHeader);
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i += 2) chunk.writeUInt16LE((i >> 1) % 4096, i);
  for (let left = total; left > 0; left -= chunk.length)
    writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  closeSync(fd);
  return head.length + 12 + total;
}

export async function run() {
  const work = mkdtempSync(join(tmpdir(), 'lantern-bench-large-'));
  try {
    const file = join(work, 'large.dcm');
    const size = writeLargeFile(file);
    let t = process.hrtime.bigint();
    const copy = join(work, 'copy.dcm');
    await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), createWriteStream(copy));
    const fd = openSync(copy, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    const refSecs = Number(process.hrtime.bigint() - t) / 1e9;
    rmSync(copy);

    // The import runs in its own process so that its peak memory is its own.
    const script = `
      const { run } = await import(${JSON.stringify(resolve('dist/cli/index.js'))});
      process.on('exit', () => console.error('MAXRSS ' + process.resourceUsage().maxRSS));
      await run(['node', 'lantern', 'import', ${JSON.stringify(file)}, '--data', ${JSON.stringify(join(work, 'data'))}, '--no-progress']);
    `;
    t = process.hrtime.bigint();
    const r = spawnSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    if (!/stored:\s+1/.test(r.stdout)) throw new Error(`import failed: ${r.stdout} ${r.stderr}`);
    const maxRss = Number(/MAXRSS (\d+)/.exec(r.stderr)[1]) / 1024;
    console.log(
      `import of a ${(size / 1e9).toFixed(2)} GB multi-frame file: peak RSS ${maxRss.toFixed(0)} MB (target: < 150 MB)`,
    );
    console.log(
      `  ${(size / 1e6 / secs).toFixed(0)} MB/s, reference stream copy with fsync ${(size / 1e6 / refSecs).toFixed(0)} MB/s, ratio ${(refSecs / secs).toFixed(2)}`,
    );
    return { maxRss };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
