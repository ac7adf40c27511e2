import { LanternError } from '../errors.js';

/** A decoded lossless JPEG image: samples colour-by-pixel, 1 byte each up to 8 bits, else 2 (little endian). */
export interface LosslessImage {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly precision: number;
  readonly data: Uint8Array;
}

function invalid(message: string): never {
  throw new LanternError('LNT_IMAGE_INVALID', `JPEG Lossless: ${message}`);
}

/** A Huffman table as a 16-bit lookup: entry = code length << 8 | symbol, 0 for no code. */
function buildTable(counts: Uint8Array, symbols: Uint8Array): Uint16Array {
  const table = new Uint16Array(65536);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < counts[len - 1]; i++) {
      if (k >= symbols.length) invalid('a Huffman table has more codes than symbols');
      const shift = 16 - len;
      const first = code << shift;
      const last = (code + 1) << shift;
      if (last > 65536) invalid('a Huffman table has codes longer than their length allows');
      table.fill((len << 8) | symbols[k], first, last);
      code++;
      k++;
    }
    code <<= 1;
  }
  return table;
}

/**
 * Decodes a JPEG Lossless (ITU-T T.81 process 14, Huffman; DICOM 1.2.840.10008.1.2.4.57 and .70) codestream:
 * all seven predictors, point transform, restart intervals, one or several scans.
 */
export function decodeJpegLossless(src: Uint8Array): LosslessImage {
  let p = 0;
  const u16 = (at: number): number => {
    if (at + 2 > src.length) invalid('the codestream ends inside a marker segment');
    return (src[at] << 8) | src[at + 1];
  };
  if (u16(0) !== 0xffd8) invalid('the frame does not start with SOI');
  p = 2;
  const tables: (Uint16Array | undefined)[] = [];
  let width = 0;
  let height = 0;
  let precision = 0;
  let compIds: number[] = [];
  let restart = 0;
  let out: Uint16Array | undefined;
  for (;;) {
    // Find the next marker (fill bytes 0xFF may precede it).
    if (p >= src.length) invalid('the codestream ends without EOI');
    if (src[p] !== 0xff) invalid(`no marker at byte ${p}`);
    while (src[p] === 0xff && p < src.length) p++;
    const marker = src[p++];
    if (marker === 0xd9) break; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    const len = u16(p);
    const seg = p + 2;
    const end = p + len;
    if (len < 2 || end > src.length) invalid('a marker segment runs past the end of the frame');
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker !== 0xc3) invalid(`frame type 0x${marker.toString(16)} is not Huffman lossless (SOF3)`);
      precision = src[seg];
      height = u16(seg + 1);
      width = u16(seg + 3);
      const n = src[seg + 5];
      if (precision < 2 || precision > 16) invalid(`sample precision ${precision} is outside 2..16`);
      if (!width || !height || !n || n > 4) invalid('the frame header has no size or components');
      if (width * height * n > 1 << 30) invalid('the frame is too large');
      compIds = [];
      for (let i = 0; i < n; i++) {
        compIds.push(src[seg + 6 + i * 3]);
        if (src[seg + 7 + i * 3] !== 0x11) invalid('subsampled components are not supported');
      }
      out = new Uint16Array(width * height * n);
    } else if (marker === 0xc4) {
      let q = seg;
      while (q < end) {
        const th = src[q] & 0x0f;
        const counts = src.subarray(q + 1, q + 17);
        if (counts.length < 16) invalid('a Huffman table is cut short');
        let total = 0;
        for (const c of counts) total += c;
        const symbols = src.subarray(q + 17, q + 17 + total);
        if (q + 17 + total > end) invalid('a Huffman table is cut short');
        tables[th] = buildTable(counts, symbols);
        q += 17 + total;
      }
    } else if (marker === 0xdd) {
      restart = u16(seg);
    } else if (marker === 0xda) {
      if (!out) invalid('a scan comes before the frame header');
      const ns = src[seg];
      const scanComps: { index: number; table: Uint16Array }[] = [];
      for (let i = 0; i < ns; i++) {
        const id = src[seg + 1 + i * 2];
        const index = compIds.indexOf(id);
        const table = tables[src[seg + 2 + i * 2] >> 4];
        if (index < 0) invalid(`the scan names an unknown component ${id}`);
        if (!table) invalid('the scan uses a Huffman table that was not defined');
        scanComps.push({ index, table });
      }
      const predictor = src[seg + 1 + ns * 2];
      const pt = src[seg + 3 + ns * 2] & 0x0f;
      if (predictor < 1 || predictor > 7) invalid(`predictor ${predictor} is outside 1..7`);
      p = decodeScan(
        src,
        end,
        out,
        width,
        height,
        compIds.length,
        scanComps,
        predictor,
        precision,
        pt,
        restart,
      );
      continue;
    }
    p = end;
  }
  if (!out) invalid('the codestream has no frame');
  const bytes = precision > 8 ? 2 : 1;
  const data = new Uint8Array(out.length * bytes);
  if (bytes === 1) for (let i = 0; i < out.length; i++) data[i] = out[i];
  else
    for (let i = 0; i < out.length; i++) {
      data[i * 2] = out[i] & 0xff;
      data[i * 2 + 1] = out[i] >> 8;
    }
  return { width, height, components: compIds.length, precision, data };
}

function decodeScan(
  src: Uint8Array,
  start: number,
  out: Uint16Array,
  width: number,
  height: number,
  nf: number,
  comps: { index: number; table: Uint16Array }[],
  predictor: number,
  precision: number,
  pt: number,
  restart: number,
): number {
  let p = start;
  let acc = 0; // bit accumulator, `have` bits valid in its low end
  let have = 0;
  let marker = false; // a marker was reached: feed zeros
  const fill = (): void => {
    while (have <= 24) {
      let b = 0;
      if (!marker && p < src.length) {
        b = src[p];
        if (b === 0xff) {
          const next = src[p + 1];
          if (next === 0x00) p += 2;
          else {
            marker = true;
            b = 0;
          }
        } else p++;
      }
      acc = ((acc << 8) | b) >>> 0;
      have += 8;
    }
  };
  const bits = (n: number): number => {
    if (have < n) fill();
    have -= n;
    return (acc >>> have) & ((1 << n) - 1);
  };
  const decodeDiff = (table: Uint16Array): number => {
    if (have < 16) fill();
    const e = table[(acc >>> (have - 16)) & 0xffff];
    if (!e) invalid('a Huffman code is not in its table');
    have -= e >> 8;
    const s = e & 0xff;
    if (s === 0) return 0;
    if (s === 16) return 32768;
    if (s > 16) invalid(`difference category ${s} is outside 0..16`);
    const v = bits(s);
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  };
  const initial = 1 << (precision - pt - 1);
  const mask = 0xffff;
  let mcu = 0;
  let resetRow = 0; // the row prediction treats as the first after a restart
  let resetCol = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (restart && mcu && mcu % restart === 0) {
        // Byte-align and pass the RSTn marker.
        have = 0;
        acc = 0;
        marker = false;
        while (p < src.length && !(src[p] === 0xff && src[p + 1] >= 0xd0 && src[p + 1] <= 0xd7)) p++;
        p += 2;
        resetRow = y;
        resetCol = x;
      }
      mcu++;
      for (const c of comps) {
        const i = (y * width + x) * nf + c.index;
        let pred: number;
        if (y === resetRow && x === resetCol) pred = initial;
        else if (y === resetRow) pred = out[i - nf];
        else if (x === 0) pred = out[i - width * nf];
        else {
          const ra = out[i - nf];
          const rb = out[i - width * nf];
          const rc = out[i - width * nf - nf];
          switch (predictor) {
            case 1:
              pred = ra;
              break;
            case 2:
              pred = rb;
              break;
            case 3:
              pred = rc;
              break;
            case 4:
              pred = ra + rb - rc;
              break;
            case 5:
              pred = ra + ((rb - rc) >> 1);
              break;
            case 6:
              pred = rb + ((ra - rc) >> 1);
              break;
            default:
              pred = (ra + rb) >> 1;
          }
        }
        out[i] = (pred + decodeDiff(c.table)) & mask;
      }
    }
  }
  // Point transform: samples were coded shifted right by pt.
  if (pt) {
    for (const c of comps) for (let i = c.index; i < out.length; i += nf) out[i] = (out[i] << pt) & mask;
  }
  // Continue after the scan's entropy-coded data: at the marker that ended it.
  while (
    p < src.length &&
    !(src[p] === 0xff && src[p + 1] !== 0x00 && !(src[p + 1] >= 0xd0 && src[p + 1] <= 0xd7))
  )
    p++;
  return p;
}
