import { createRequire } from 'node:module';
import { lookupTransferSyntax, TransferSyntaxUid as TS } from '../../core/dicom/transfer-syntax.js';
import { readCodestreamHeader } from '../../core/imaging/codestream.js';
import { LanternError } from '../../core/errors.js';
import type { PixelModule } from '../../core/imaging/pixel-module.js';
import type { NativePixels } from '../../core/imaging/render.js';
import { decodeRle } from '../../core/imaging/rle.js';
import { decodeJpegLossless } from '../../core/imaging/jpeg-lossless.js';

const require = createRequire(import.meta.url);

/** A frame in native form: little-endian samples as Explicit VR Little Endian holds them. */
export type NativeFrame = NativePixels;

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader?(): void;
  decode(): void;
  getFrameInfo(): FrameInfo;
  getInterleaveMode?(): number;
  delete(): void;
}
interface WasmEncoder {
  getDecodedBuffer(info: FrameInfo): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  setQuality?(lossless: boolean, quality: number): void;
  delete(): void;
}
type Module = Record<string, new () => WasmDecoder & WasmEncoder>;

/** The WASM modules, instantiated on first use; a module that failed (aborted) is instantiated again. */
const modules = new Map<string, Promise<Module>>();
function wasm(name: string): Promise<Module> {
  let m = modules.get(name);
  if (!m) {
    const factory = require(name) as (o: object) => Promise<Module>;
    // Codec diagnostics go nowhere: they would reach stdout.
    m = factory({ print: () => undefined, printErr: () => undefined });
    modules.set(name, m);
  }
  return m;
}

const CHARLS = '@cornerstonejs/codec-charls/wasmjs';
const OPENJPEG = '@cornerstonejs/codec-openjpeg/wasmjs';
const LIBJPEG = '@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs';

/** Transfer syntaxes this server decodes to native pixels. */
export const DECODABLE = new Set<string>([
  TS.ImplicitVRLittleEndian,
  TS.ExplicitVRLittleEndian,
  TS.ExplicitVRBigEndian,
  TS.DeflatedExplicitVRLittleEndian,
  TS.EncapsulatedUncompressedExplicitVRLittleEndian,
  TS.RLELossless,
  TS.JPEGBaseline8Bit,
  TS.JPEGExtended12Bit,
  TS.JPEGLossless,
  TS.JPEGLosslessSV1,
  TS.JPEGLSLossless,
  TS.JPEGLSNearLossless,
  TS.JPEG2000Lossless,
  TS.JPEG2000,
]);

/** Transfer syntaxes frames can be transcoded into (after decoding). */
export const ENCODABLE = new Set<string>([
  TS.ExplicitVRLittleEndian,
  TS.JPEGLSLossless,
  TS.JPEG2000Lossless,
  TS.JPEGBaseline8Bit,
]);

function invalid(message: string, cause?: unknown): never {
  throw new LanternError('LNT_IMAGE_INVALID', message, { cause });
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  return Buffer.concat(pieces);
}

/** Shifts a one-bit frame that starts `bitOffset` bits into its first byte to start at bit 0 (LSB first). */
function realignBits(src: Uint8Array, bitOffset: number, bits: number): Uint8Array {
  if (bitOffset === 0) return src;
  const out = new Uint8Array(Math.ceil(bits / 8));
  for (let i = 0; i < bits; i++) {
    const s = i + bitOffset;
    if (src[s >> 3] & (1 << (s & 7))) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}

function checkSize(pm: PixelModule, info: FrameInfo, codec: string): void {
  if (info.width !== pm.columns || info.height !== pm.rows || info.componentCount !== pm.samplesPerPixel) {
    invalid(
      `${codec} frame is ${info.width}x${info.height} with ${info.componentCount} component(s); ` +
        `the header declares ${pm.columns}x${pm.rows} with ${pm.samplesPerPixel}`,
    );
  }
}

async function runDecoder(
  name: string,
  ctor: string,
  codec: string,
  pm: PixelModule,
  src: Uint8Array,
): Promise<{ data: Uint8Array; info: FrameInfo; interleave: number }> {
  const mod = await wasm(name).catch((e: unknown) => {
    modules.delete(name);
    throw e;
  });
  let d: WasmDecoder | undefined;
  try {
    d = new mod[ctor]();
    d.getEncodedBuffer(src.length).set(src);
    d.decode();
    const info = d.getFrameInfo();
    checkSize(pm, info, codec);
    const decoded = d.getDecodedBuffer();
    const bytes = info.bitsPerSample > 8 ? 2 : 1;
    const want = info.width * info.height * info.componentCount * bytes;
    if (decoded.length < want) invalid(`${codec} decoded ${decoded.length} bytes, ${want} expected`);
    return { data: decoded.slice(0, want), info, interleave: d.getInterleaveMode?.() ?? 2 };
  } catch (e) {
    if (e instanceof LanternError) throw e;
    modules.delete(name); // an abort leaves the module unusable
    return invalid(`${codec} data could not be decoded`, e);
  } finally {
    try {
      d?.delete();
    } catch {
      /* the module aborted */
    }
  }
}

function swap(data: Uint8Array, bytes: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i + bytes <= data.length; i += bytes) {
    for (let b = 0; b < bytes; b++) out[i + b] = data[i + bytes - 1 - b];
  }
  return out;
}

/** Decodes one frame (its pieces as stored) to native little-endian pixels. */
export async function decodeFrame(
  tsUid: string,
  pm: PixelModule,
  pieces: readonly Uint8Array[],
  bitOffset = 0,
): Promise<NativeFrame> {
  const base = {
    rows: pm.rows,
    columns: pm.columns,
    samplesPerPixel: pm.samplesPerPixel,
    bitsAllocated: pm.bitsAllocated,
    photometric: pm.photometric,
    planarConfiguration: pm.planarConfiguration,
  };
  const src = concat(pieces);
  if (lookupTransferSyntax(tsUid)?.encapsulated && tsUid !== TS.RLELossless) {
    // Check the declared size before a codec allocates for it.
    const h = readCodestreamHeader(src);
    if (h) {
      checkSize(
        pm,
        { width: h.width, height: h.height, bitsPerSample: h.precision, componentCount: h.components },
        'the',
      );
      if (h.precision > 8 && (tsUid === TS.JPEGBaseline8Bit || tsUid === TS.JPEGExtended12Bit)) {
        throw new LanternError(
          'LNT_IMAGE_UNSUPPORTED',
          `${h.precision}-bit lossy JPEG frames have no decoder here`,
        );
      }
    }
  }
  switch (tsUid) {
    case TS.ImplicitVRLittleEndian:
    case TS.ExplicitVRLittleEndian:
    case TS.DeflatedExplicitVRLittleEndian:
    case TS.EncapsulatedUncompressedExplicitVRLittleEndian:
      if (pm.bitsAllocated === 1) {
        return { ...base, data: realignBits(src, bitOffset, pm.rows * pm.columns * pm.samplesPerPixel) };
      }
      return { ...base, data: src };
    case TS.ExplicitVRBigEndian:
      if (pm.bitsAllocated === 1) {
        return { ...base, data: realignBits(src, bitOffset, pm.rows * pm.columns * pm.samplesPerPixel) };
      }
      return { ...base, data: pm.bitsAllocated > 8 ? swap(src, pm.bitsAllocated / 8) : src };
    case TS.RLELossless: {
      if (pm.bitsAllocated % 8) invalid('RLE frames of fewer than 8 bits a sample are not supported');
      const data = decodeRle(src, pm.rows * pm.columns, pm.samplesPerPixel, pm.bitsAllocated / 8);
      // Segments are whole planes; decodeRle interleaves them.
      return { ...base, data, planarConfiguration: 0 };
    }
    case TS.JPEGLossless:
    case TS.JPEGLosslessSV1: {
      const r = decodeJpegLossless(src);
      checkSize(
        pm,
        { width: r.width, height: r.height, bitsPerSample: r.precision, componentCount: r.components },
        'JPEG Lossless',
      );
      return { ...base, data: fitSamples(r.data, r.precision > 8 ? 2 : 1, pm), planarConfiguration: 0 };
    }
    case TS.JPEGBaseline8Bit:
    case TS.JPEGExtended12Bit: {
      const r = await runDecoder(LIBJPEG, 'JPEGDecoder', 'JPEG', pm, src);
      const colour = r.info.componentCount === 3;
      return {
        ...base,
        data: fitSamples(r.data, 1, pm),
        photometric: colour ? 'RGB' : pm.photometric,
        planarConfiguration: 0,
      };
    }
    case TS.JPEGLSLossless:
    case TS.JPEGLSNearLossless: {
      const r = await runDecoder(CHARLS, 'JpegLSDecoder', 'JPEG-LS', pm, src);
      const planar = r.info.componentCount > 1 && r.interleave === 0 ? 1 : 0;
      return {
        ...base,
        data: fitSamples(r.data, r.info.bitsPerSample > 8 ? 2 : 1, pm),
        planarConfiguration: planar,
      };
    }
    case TS.JPEG2000Lossless:
    case TS.JPEG2000: {
      const r = await runDecoder(OPENJPEG, 'J2KDecoder', 'JPEG 2000', pm, src);
      const colour = r.info.componentCount === 3;
      const ybr = pm.photometric === 'YBR_RCT' || pm.photometric === 'YBR_ICT';
      return {
        ...base,
        data: fitSamples(r.data, r.info.bitsPerSample > 8 ? 2 : 1, pm),
        photometric: colour && ybr ? 'RGB' : pm.photometric,
        planarConfiguration: 0,
      };
    }
    default:
      throw new LanternError('LNT_IMAGE_UNSUPPORTED', `frames in transfer syntax ${tsUid} cannot be decoded`);
  }
}

/** Widens or narrows decoded samples to Bits Allocated (e.g. 8-bit codestream, Bits Allocated 16). */
function fitSamples(data: Uint8Array, bytes: number, pm: PixelModule): Uint8Array {
  const want = pm.bitsAllocated / 8;
  if (bytes === want) return data;
  const n = data.length / bytes;
  const out = new Uint8Array(n * want);
  for (let i = 0; i < n; i++) {
    const v = bytes === 1 ? data[i] : data[i * 2] | (data[i * 2 + 1] << 8);
    out[i * want] = v & 0xff;
    if (want > 1) out[i * want + 1] = v >> 8;
  }
  return out;
}

/** Encodes a native frame into a compressed transfer syntax (lossless unless JPEG Baseline is asked for). */
export async function encodeFrame(
  tsUid: string,
  f: NativeFrame,
  pixelRepresentation: number,
): Promise<Uint8Array> {
  if (tsUid === TS.ExplicitVRLittleEndian) return f.data;
  if (f.bitsAllocated !== 8 && f.bitsAllocated !== 16) {
    throw new LanternError(
      'LNT_HTTP_NOT_ACCEPTABLE',
      `${f.bitsAllocated}-bit frames are sent uncompressed only`,
    );
  }
  const interleaved = f.planarConfiguration === 1 ? toInterleaved(f) : f.data;
  const info: FrameInfo = {
    width: f.columns,
    height: f.rows,
    bitsPerSample: f.bitsAllocated,
    componentCount: f.samplesPerPixel,
    isSigned: pixelRepresentation === 1,
  };
  let name: string;
  let ctor: string;
  if (tsUid === TS.JPEGLSLossless) [name, ctor] = [CHARLS, 'JpegLSEncoder'];
  else if (tsUid === TS.JPEG2000Lossless) [name, ctor] = [OPENJPEG, 'J2KEncoder'];
  // JPEG Baseline for grey frames only: a colour frame's photometric interpretation would change.
  else if (tsUid === TS.JPEGBaseline8Bit && f.bitsAllocated === 8 && f.samplesPerPixel === 1)
    [name, ctor] = [LIBJPEG, 'JPEGEncoder'];
  else throw new LanternError('LNT_HTTP_NOT_ACCEPTABLE', `frames cannot be encoded in ${tsUid}`);
  const mod = await wasm(name);
  const e = new mod[ctor]();
  try {
    e.getDecodedBuffer(info).set(interleaved);
    if (ctor === 'JPEGEncoder') e.setQuality?.(false, 90);
    e.encode();
    return e.getEncodedBuffer().slice();
  } finally {
    e.delete();
  }
}

/** Colour-by-plane samples rearranged colour-by-pixel. */
export function toInterleaved(f: NativeFrame): Uint8Array {
  const bps = f.bitsAllocated / 8;
  const px = f.rows * f.columns;
  const out = new Uint8Array(f.data.length);
  for (let s = 0; s < f.samplesPerPixel; s++) {
    for (let i = 0; i < px; i++) {
      for (let b = 0; b < bps; b++) {
        out[(i * f.samplesPerPixel + s) * bps + b] = f.data[(s * px + i) * bps + b];
      }
    }
  }
  return out;
}
