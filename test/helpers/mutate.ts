import { parseDicom } from '../../src/core/dicom/parser.js';
import { type Dataset, UNDEFINED_LENGTH } from '../../src/core/dicom/dataset.js';

/**
 * A seeded mutator of DICOM files for robustness tests: it damages the structure where real writers go
 * wrong (delimiters, lengths, VRs, truncation), one mutation per output, reproducibly from its seed.
 */

/** A small, fast, seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type MutationKind =
  | 'stray sequence delimiter'
  | 'stray item delimiter'
  | 'item length off'
  | 'sequence length off'
  | 'missing sequence delimiter'
  | 'missing item delimiter'
  | 'element length off'
  | 'VR changed'
  | 'VR unknown'
  | 'truncated';

export interface Mutant {
  readonly kind: MutationKind;
  /** What was done where, e.g. "item length of (0040,0275) item 0 at 1234: 26 -> 28". */
  readonly what: string;
  readonly bytes: Uint8Array;
}

/** Where things are in a file: element headers, items and delimiters, by absolute offset. */
interface Site {
  readonly offset: number;
  readonly headerLength: number;
  readonly tag: number;
  readonly length: number;
  readonly kind: 'element' | 'sequence' | 'item' | 'item delimiter' | 'sequence delimiter';
  /** The offset after the last element of the containing dataset (insertion points). */
  readonly depth: number;
}

const hex = (t: number) =>
  `(${(t >>> 16).toString(16).padStart(4, '0')},${(t & 0xffff).toString(16).padStart(4, '0')})`;

function sites(bytes: Uint8Array): { sites: Site[]; explicit: boolean; little: boolean; start: number } {
  const parsed = parseDicom(bytes, { bulkDataThreshold: 0 });
  const at = (u: Uint8Array | undefined) => (u ? u.byteOffset - bytes.byteOffset : -1);
  const out: Site[] = [];
  const walk = (ds: Dataset, depth: number) => {
    for (const el of ds.elements) {
      const offset = at(el.header);
      if (offset < 0 || !el.header) continue;
      out.push({
        offset,
        headerLength: el.header.length,
        tag: el.tag,
        length: el.length,
        kind: el.items ? 'sequence' : 'element',
        depth,
      });
      for (const item of el.items ?? []) {
        if (item.header)
          out.push({
            offset: at(item.header),
            headerLength: 8,
            tag: el.tag,
            length: item.length,
            kind: 'item',
            depth: depth + 1,
          });
        walk(item.dataset, depth + 1);
        if (item.trailer)
          out.push({
            offset: at(item.trailer),
            headerLength: 8,
            tag: el.tag,
            length: 0,
            kind: 'item delimiter',
            depth: depth + 1,
          });
      }
      if (el.items && el.trailer)
        out.push({
          offset: at(el.trailer),
          headerLength: 8,
          tag: el.tag,
          length: 0,
          kind: 'sequence delimiter',
          depth,
        });
    }
  };
  walk(parsed.dataset, 0);
  const enc = parsed.dataset.encoding;
  return {
    sites: out.filter((s) => s.offset >= 0).sort((a, b) => a.offset - b.offset),
    explicit: enc.explicitVr,
    little: enc.littleEndian,
    start: parsed.datasetOffset,
  };
}

function splice(
  b: Uint8Array,
  at: number,
  remove: number,
  insert: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

const VRS = [
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FL',
  'FD',
  'IS',
  'LO',
  'LT',
  'OB',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'TM',
  'UI',
  'UL',
  'UN',
  'US',
  'UT',
];

/**
 * Mutants of `bytes` (a readable Part 10 file): `count` of them, each with one mutation chosen by `seed`.
 * Only explicit or implicit VR little endian files are mutated (big endian lengths are not rewritten).
 */
export function mutants(source: Uint8Array, seed: number, count: number): Mutant[] {
  // A copy of its own (Buffer's slice() would share memory, and mutations would reach the source).
  const bytes = new Uint8Array(source);
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T | undefined =>
    xs.length ? xs[Math.floor(rnd() * xs.length)] : undefined;
  const info = sites(bytes);
  if (!info.little) return [];
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u32 = (tag: number) => {
    const h = new Uint8Array(8);
    const v = dv(h);
    v.setUint16(0, tag >>> 16, true);
    v.setUint16(2, tag & 0xffff, true);
    return h;
  };
  const out: Mutant[] = [];
  const kinds: MutationKind[] = [
    'stray sequence delimiter',
    'stray item delimiter',
    'item length off',
    'sequence length off',
    'missing sequence delimiter',
    'missing item delimiter',
    'element length off',
    'VR changed',
    'VR unknown',
    'truncated',
  ];
  const elements = info.sites.filter((s) => s.kind === 'element' || s.kind === 'sequence');
  let guard = 0;
  while (out.length < count && guard++ < count * 20) {
    const kind = pick(kinds)!;
    const off = (rnd() < 0.5 ? 2 : 4) * (rnd() < 0.5 ? -1 : 1);
    switch (kind) {
      case 'stray sequence delimiter':
      case 'stray item delimiter': {
        const s = pick(elements);
        if (!s) break;
        const tag = kind === 'stray sequence delimiter' ? 0xfffee0dd : 0xfffee00d;
        out.push({
          kind,
          what: `${hex(tag)} inserted before ${hex(s.tag)} at ${s.offset}`,
          bytes: splice(bytes, s.offset, 0, u32(tag)),
        });
        break;
      }
      case 'item length off':
      case 'sequence length off': {
        const want = kind === 'item length off' ? 'item' : 'sequence';
        const s = pick(info.sites.filter((x) => x.kind === want && x.length !== UNDEFINED_LENGTH));
        if (!s) break;
        const b = bytes.slice();
        const pos = s.offset + s.headerLength - 4;
        const len = Math.max(0, s.length + off);
        dv(b).setUint32(pos, len, true);
        out.push({
          kind,
          what: `${want} length of ${hex(s.tag)} at ${s.offset}: ${s.length} -> ${len}`,
          bytes: b,
        });
        break;
      }
      case 'missing sequence delimiter':
      case 'missing item delimiter': {
        const want = kind === 'missing sequence delimiter' ? 'sequence delimiter' : 'item delimiter';
        const s = pick(info.sites.filter((x) => x.kind === want));
        if (!s) break;
        out.push({
          kind,
          what: `${want} of ${hex(s.tag)} at ${s.offset} removed`,
          bytes: splice(bytes, s.offset, 8),
        });
        break;
      }
      case 'element length off': {
        const s = pick(info.sites.filter((x) => x.kind === 'element' && x.length !== UNDEFINED_LENGTH));
        if (!s) break;
        const b = bytes.slice();
        const len = Math.max(0, s.length + off);
        if (s.headerLength === 8 && info.explicit) {
          if (len > 0xffff) break;
          dv(b).setUint16(s.offset + 6, len, true);
        } else dv(b).setUint32(s.offset + s.headerLength - 4, len, true);
        out.push({ kind, what: `length of ${hex(s.tag)} at ${s.offset}: ${s.length} -> ${len}`, bytes: b });
        break;
      }
      case 'VR changed':
      case 'VR unknown': {
        if (!info.explicit) break;
        const s = pick(elements.filter((x) => x.offset >= info.start));
        if (!s) break;
        const b = bytes.slice();
        const code =
          kind === 'VR unknown' ? 'Q' + String.fromCharCode(65 + Math.floor(rnd() * 26)) : pick(VRS)!;
        b[s.offset + 4] = code.charCodeAt(0);
        b[s.offset + 5] = code.charCodeAt(1);
        out.push({ kind, what: `VR of ${hex(s.tag)} at ${s.offset} set to ${code}`, bytes: b });
        break;
      }
      case 'truncated': {
        const at = info.start + Math.floor(rnd() * (bytes.length - info.start));
        out.push({ kind, what: `cut at ${at} of ${bytes.length}`, bytes: bytes.slice(0, at) });
        break;
      }
    }
  }
  return out;
}
