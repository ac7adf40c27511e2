// Header parse from memory of 512x512 16-bit CT files, one core: our reader against dicom-parser and dcmjs
// on the same buffers, in the same process. Prints files/s and the ratios.
import dicomParser from 'dicom-parser';
import dcmjs from 'dcmjs';
import { parseDicom } from '../dist/core/dicom/parser.js';
import { ctFile } from './corpus.mjs';

const files = Array.from({ length: 200 }, (_, i) => ctFile(i));

function rate(name, fn, seconds = 2) {
  for (let i = 0; i < 200; i++) fn(files[i % files.length]); // warm up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 100; i++) fn(files[(n + i) % files.length]);
    n += 100;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = n / secs;
  console.log(`${name.padEnd(34)} ${r.toFixed(0).padStart(8)} files/s`);
  return r;
}

export function run() {
  const silence = console.warn;
  console.warn = () => {}; // dcmjs logs about private tags
  const ours = rate('lantern parseDicom (untilPixelData)', (b) => parseDicom(b, { untilPixelData: true }));
  const oursFull = rate('lantern parseDicom (whole file)', (b) => parseDicom(b));
  const dp = rate('dicom-parser (untilTag 7FE00010)', (b) =>
    dicomParser.parseDicom(b, { untilTag: 'x7fe00010' }),
  );
  const dj = rate(
    'dcmjs DicomMessage.readFile',
    (b) =>
      dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), {
        untilTag: '7FE00010',
      }),
    1,
  );
  console.warn = silence;
  console.log(
    `ratio lantern/dicom-parser: ${(ours / dp).toFixed(2)}  lantern/dcmjs: ${(ours / dj).toFixed(2)}  (target: >= 20,000 files/s; whole-file read ${oursFull.toFixed(0)}/s)`,
  );
  return { ours, dp, dj };
}

if (import.meta.url === `file://${process.argv[1]}`) run();
