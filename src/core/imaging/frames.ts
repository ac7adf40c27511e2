import { LanternError } from '../errors.js';
import type { Dataset } from '../dicom/dataset.js';
import { Tag } from '../dicom/dictionary.js';
import type { TransferSyntax } from '../dicom/transfer-syntax.js';
import { nativeFrameBits, type PixelModule } from './pixel-module.js';

/** Part of a frame: bytes at an offset of the stored object, or bytes already in memory. */
export type Piece = { readonly offset: number; readonly length: number } | { readonly bytes: Uint8Array };

export interface FrameRef {
  readonly pieces: readonly Piece[];
  /** Native one-bit frames: the bit the frame starts at within its first byte. */
  readonly bitOffset: number;
}

/** Where each frame of a stored object's pixel data is. */
export interface FrameLayout {
  readonly pm: PixelModule;
  readonly transferSyntax: TransferSyntax;
  readonly frames: readonly FrameRef[];
}

function invalid(message: string): never {
  throw new LanternError('LNT_IMAGE_INVALID', message);
}

function pieceOf(x: { value?: Uint8Array; bulk?: { offset: number; length: number } }): Piece {
  if (x.bulk) return { offset: x.bulk.offset, length: x.bulk.length };
  return { bytes: x.value ?? new Uint8Array(0) };
}

function slice(p: Piece, start: number, length: number): Piece {
  return 'bytes' in p
    ? { bytes: p.bytes.subarray(start, start + length) }
    : { offset: p.offset + start, length };
}

function offsets(bytes: Uint8Array, size: 4 | 8): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + size <= bytes.length; i += size) {
    out.push(size === 4 ? view.getUint32(i, true) : Number(view.getBigUint64(i, true)));
  }
  return out;
}

/** Whether a fragment starts a codestream: a JPEG SOI (also JPEG-LS) or a JPEG 2000 SOC marker. */
export function startsFrame(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0xff && (head[1] === 0xd8 || head[1] === 0x4f);
}

/**
 * The frames of a header read with pixel data left in place (`bulkFragments`). Encapsulated frames are found
 * from the Basic or Extended Offset Table, else one fragment per frame, else (several fragments a frame, no
 * table) by the codestream start marker each fragment begins with, which `peek` reads.
 */
export async function frameLayout(
  ds: Dataset,
  pm: PixelModule,
  ts: TransferSyntax,
  peek: (p: Piece, n: number) => Promise<Uint8Array>,
): Promise<FrameLayout> {
  const el = ds.get(Tag.PixelData);
  if (!el) throw new LanternError('LNT_IMAGE_UNSUPPORTED', 'the instance has no pixel data');
  if (!ts.encapsulated) {
    if (el.fragments) invalid('native pixel data is encapsulated');
    const whole = pieceOf(el);
    const total = 'bytes' in whole ? whole.bytes.length : whole.length;
    const bits = nativeFrameBits(pm);
    if (Math.ceil((bits * pm.frames) / 8) > total) {
      invalid(
        `pixel data holds ${total} bytes, fewer than ${pm.frames} frame(s) of ${pm.columns}x${pm.rows} need`,
      );
    }
    const frames: FrameRef[] = [];
    for (let i = 0; i < pm.frames; i++) {
      const startBit = i * bits;
      const start = Math.floor(startBit / 8);
      const end = Math.ceil((startBit + bits) / 8);
      frames.push({ pieces: [slice(whole, start, end - start)], bitOffset: startBit % 8 });
    }
    return { pm, transferSyntax: ts, frames };
  }
  if (!el.fragments) invalid('encapsulated pixel data is not in fragments');
  const [bot, ...frags] = el.fragments;
  if (!frags.length) invalid('encapsulated pixel data has no fragments');
  const one = (list: typeof frags): FrameRef => ({ pieces: list.map(pieceOf), bitOffset: 0 });
  // Fragment start offsets, relative to the first fragment's item header (PS3.5 A.4).
  const starts: number[] = [];
  for (let i = 0, at = 0; i < frags.length; i++) {
    starts.push(at);
    at += 8 + frags[i].length;
  }
  const byOffsets = (table: number[]): FrameRef[] | undefined => {
    const out: FrameRef[] = [];
    for (let f = 0; f < table.length; f++) {
      const first = starts.indexOf(table[f]);
      const next = f + 1 < table.length ? starts.indexOf(table[f + 1]) : frags.length;
      if (first < 0 || next <= first) return undefined;
      out.push(one(frags.slice(first, next)));
    }
    return out;
  };
  let frames: FrameRef[] | undefined;
  const eot = ds.get(Tag.ExtendedOffsetTable)?.value;
  const botValue = bot.value;
  if (eot && eot.length >= 8) frames = byOffsets(offsets(eot, 8));
  if (!frames && botValue && botValue.length >= 4) frames = byOffsets(offsets(botValue, 4));
  if (!frames) {
    if (pm.frames === 1) frames = [one(frags)];
    else if (frags.length === pm.frames) frames = frags.map((f) => one([f]));
    else {
      frames = [];
      let current: typeof frags = [];
      for (const f of frags) {
        if (current.length && startsFrame(await peek(pieceOf(f), 2))) {
          frames.push(one(current));
          current = [];
        }
        current.push(f);
      }
      if (current.length) frames.push(one(current));
    }
  }
  if (frames.length < pm.frames) {
    invalid(`pixel data holds ${frames.length} compressed frame(s), the header declares ${pm.frames}`);
  }
  return { pm, transferSyntax: ts, frames: frames.slice(0, pm.frames) };
}

/** The size in bytes of a frame's pieces. */
export function frameSize(f: FrameRef): number {
  let n = 0;
  for (const p of f.pieces) n += 'bytes' in p ? p.bytes.length : p.length;
  return n;
}
