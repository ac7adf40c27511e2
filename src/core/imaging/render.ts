import { LanternError } from '../errors.js';
import type { PaletteLut, PixelModule, Window } from './pixel-module.js';

/** A frame in native form (as the codecs leave it): little-endian samples. */
export interface NativePixels {
  readonly data: Uint8Array;
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly photometric: string;
  readonly planarConfiguration: number;
}

/** 8-bit display pixels: grey (1 channel) or RGB (3, interleaved). */
export interface DisplayPixels {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface RenderOptions {
  /** The VOI window to apply (PS3.18 8.3.5.1.4 `window`); default: the first in the data set, else min-max. */
  readonly window?: Window & { readonly fn?: VoiFunction };
}

function invalid(message: string): never {
  throw new LanternError('LNT_IMAGE_INVALID', message);
}

/** Stored values of a grey frame as numbers (masked to Bits Stored, sign-extended when signed). */
function storedValues(f: NativePixels, pm: PixelModule): Int32Array | Uint32Array | Uint16Array | Uint8Array {
  const n = f.rows * f.columns;
  const bits = pm.bitsStored;
  const signed = pm.pixelRepresentation === 1;
  const d = f.data;
  if (f.bitsAllocated === 1) {
    if (d.length * 8 < n) invalid('the frame has fewer bits than its pixels');
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (d[i >> 3] >> (i & 7)) & 1;
    return out;
  }
  const bytes = f.bitsAllocated / 8;
  if (d.length < n * bytes) invalid(`the frame holds ${d.length} bytes, ${n * bytes} expected`);
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const sign = 2 ** (bits - 1);
  if (bytes === 1 && !signed && bits === 8) return d.subarray(0, n);
  const out = signed ? new Int32Array(n) : bytes <= 2 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (bytes === 1) v = d[i];
    else if (bytes === 2) v = d[i * 2] | (d[i * 2 + 1] << 8);
    else v = (d[i * 4] | (d[i * 4 + 1] << 8) | (d[i * 4 + 2] << 16) | (d[i * 4 + 3] << 24)) >>> 0;
    v = bits >= 32 ? v : v & mask;
    if (signed && v >= sign) v -= 2 * sign;
    out[i] = v;
  }
  return out;
}

/** The VOI transform (PS3.3 C.11.2.1.2) from a modality value to 0..255. */
function voi(win: Window & { fn?: VoiFunction }, fn: string): (x: number) => number {
  const c = win.center;
  const w = win.width;
  if (fn === 'SIGMOID') return (x) => 255 / (1 + Math.exp((-4 * (x - c)) / w));
  if (fn === 'LINEAR_EXACT') {
    return (x) => (x <= c - w / 2 ? 0 : x > c + w / 2 ? 255 : ((x - c) / w + 0.5) * 255);
  }
  if (w < 1) invalid('a LINEAR window must be at least 1 wide');
  const lo = c - 0.5 - (w - 1) / 2;
  const hi = c - 0.5 + (w - 1) / 2;
  return (x) => (x <= lo ? 0 : x > hi ? 255 : w === 1 ? 255 : ((x - (c - 0.5)) / (w - 1) + 0.5) * 255);
}

/** A lookup table as a function (values outside its range take its first or last entry). */
function lookup(lut: PaletteLut): (x: number) => number {
  const last = lut.entries - 1;
  return (x) => {
    const k = Math.round(x) - lut.first;
    return lut.data[k < 0 ? 0 : k > last ? last : k];
  };
}

function renderGrey(f: NativePixels, pm: PixelModule, opts: RenderOptions): DisplayPixels {
  const values = storedValues(f, pm);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Modality LUT: the table when the object has one, else the rescale (PS3.3 C.11.1).
  const slope = pm.rescaleSlope;
  const intercept = pm.rescaleIntercept;
  const modality = pm.modalityLut ? lookup(pm.modalityLut) : (v: number) => v * slope + intercept;
  // VOI LUT: the window asked for, else the object's first window, else its first VOI LUT, else the range.
  let map: (x: number) => number;
  const win: (Window & { fn?: VoiFunction }) | undefined = opts.window ?? pm.windows[0];
  const voiLut = pm.voiLuts[0];
  if (win) {
    map = voi(win, (opts.window?.fn ?? (opts.window ? 'LINEAR' : pm.voiLutFunction)).toUpperCase());
  } else if (voiLut) {
    const table = lookup(voiLut);
    const top = 2 ** voiLut.bits - 1;
    map = (x) => (table(x) / top) * 255;
  } else {
    let a = Infinity;
    let b = -Infinity;
    for (const v of [min, max]) {
      const m = modality(v);
      a = Math.min(a, m);
      b = Math.max(b, m);
    }
    map = voi({ center: (a + b) / 2, width: Math.max(1, b - a) + 1 }, 'LINEAR');
  }
  const invert = (pm.photometric === 'MONOCHROME1') !== (pm.presentationLutShape === 'INVERSE');
  // One lookup entry per stored value in the frame's range.
  const span = max - min + 1;
  const out = new Uint8Array(values.length);
  const display = (v: number): number => {
    const y = Math.round(map(modality(v)));
    const c = y < 0 ? 0 : y > 255 ? 255 : y;
    return invert ? 255 - c : c;
  };
  if (span <= 1 << 20) {
    const lut = new Uint8Array(span);
    for (let v = 0; v < span; v++) lut[v] = display(v + min);
    for (let i = 0; i < values.length; i++) out[i] = lut[values[i] - min];
  } else {
    for (let i = 0; i < values.length; i++) out[i] = display(values[i]);
  }
  return { data: out, width: f.columns, height: f.rows, channels: 1 };
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function renderColour(f: NativePixels, pm: PixelModule): DisplayPixels {
  const n = f.rows * f.columns;
  const out = new Uint8Array(n * 3);
  const d = f.data;
  const bytes = f.bitsAllocated / 8;
  if (bytes !== 1 && bytes !== 2) invalid(`${f.bitsAllocated}-bit colour frames are not rendered`);
  const shift = bytes === 2 ? Math.max(0, pm.bitsStored - 8) : 0;
  const planar = f.planarConfiguration === 1;
  const sample = (i: number, s: number): number => {
    const at = planar ? s * n + i : i * 3 + s;
    return bytes === 1 ? d[at] : (d[at * 2] | (d[at * 2 + 1] << 8)) >> shift;
  };
  const photometric = f.photometric;
  if (photometric === 'YBR_FULL_422' && f.bitsAllocated === 8 && !planar) {
    // Two pixels share one chroma pair: Y1 Y2 Cb Cr.
    if (d.length < n * 2) invalid('the YBR_FULL_422 frame is shorter than its pixels');
    for (let i = 0; i < n; i++) {
      const pair = i >> 1;
      const y = d[pair * 4 + (i & 1)];
      const cb = d[pair * 4 + 2] - 128;
      const cr = d[pair * 4 + 3] - 128;
      out[i * 3] = clamp(y + 1.402 * cr);
      out[i * 3 + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
      out[i * 3 + 2] = clamp(y + 1.772 * cb);
    }
    return { data: out, width: f.columns, height: f.rows, channels: 3 };
  }
  if (d.length < n * 3 * bytes) invalid(`the frame holds ${d.length} bytes, ${n * 3 * bytes} expected`);
  if (photometric === 'RGB') {
    for (let i = 0; i < n; i++) for (let s = 0; s < 3; s++) out[i * 3 + s] = sample(i, s);
  } else if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') {
    for (let i = 0; i < n; i++) {
      const y = sample(i, 0);
      const cb = sample(i, 1) - 128;
      const cr = sample(i, 2) - 128;
      out[i * 3] = clamp(y + 1.402 * cr);
      out[i * 3 + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
      out[i * 3 + 2] = clamp(y + 1.772 * cb);
    }
  } else {
    throw new LanternError(
      'LNT_IMAGE_UNSUPPORTED',
      `photometric interpretation ${photometric} is not rendered`,
    );
  }
  return { data: out, width: f.columns, height: f.rows, channels: 3 };
}

function renderPalette(f: NativePixels, pm: PixelModule): DisplayPixels {
  const palette = pm.palette!;
  const values = storedValues(f, { ...pm, pixelRepresentation: 0 });
  const out = new Uint8Array(values.length * 3);
  const luts = [palette.red, palette.green, palette.blue];
  for (let s = 0; s < 3; s++) {
    const lut = luts[s];
    const down = lut.bits > 8 ? 8 : 0;
    for (let i = 0; i < values.length; i++) {
      let k = values[i] - lut.first;
      if (k < 0) k = 0;
      else if (k >= lut.entries) k = lut.entries - 1;
      out[i * 3 + s] = lut.data[k] >> down;
    }
  }
  return { data: out, width: f.columns, height: f.rows, channels: 3 };
}

/**
 * Turns a decoded frame into display pixels: Modality LUT (rescale), VOI LUT (window, LINEAR, LINEAR_EXACT,
 * SIGMOID) and polarity for grey images; palette lookup; YBR to RGB.
 */
export function renderFrame(f: NativePixels, pm: PixelModule, opts: RenderOptions = {}): DisplayPixels {
  if (f.photometric === 'MONOCHROME1' || f.photometric === 'MONOCHROME2') return renderGrey(f, pm, opts);
  if (f.photometric === 'PALETTE COLOR') return renderPalette(f, pm);
  if (f.samplesPerPixel === 3) return renderColour(f, pm);
  throw new LanternError(
    'LNT_IMAGE_UNSUPPORTED',
    `photometric interpretation ${f.photometric} is not rendered`,
  );
}
