import iconv from 'iconv-lite';
import { DicomFormatError } from '../errors.js';
import type { Vr } from './vr.js';

/**
 * Specific Character Set (0008,0005) handling, PS3.5 6.1 and Annex E-H of PS3.3 C.12.1.1.2.
 *
 * A code element is a graphic character set designated to G0 (bytes 0x21-0x7E) or G1 (0xA1-0xFE).
 * Without code extensions one term names the whole repertoire; with ISO 2022 code extensions the terms
 * name the sets that escape sequences may designate, and the first term's sets are active at the start of
 * each value and after each delimiter.
 */
type CodeElement =
  | { kind: 'ascii' }
  | { kind: 'roman' } // JIS X 0201 Romaji in G0 (ISO-IR 14)
  | { kind: 'kana' } // JIS X 0201 Katakana in G1 (ISO-IR 13)
  | { kind: 'single'; enc: string } // a 96-character set in G1 (ISO 8859 family, TIS 620)
  | { kind: 'double-gl'; enc: 'jisx0208' | 'jisx0212' } // 94x94 sets in G0
  | { kind: 'double-gr'; enc: 'euc-kr' | 'gbk' }; // KS X 1001, GB 2312 in G1

interface Term {
  g0?: CodeElement;
  g1?: CodeElement;
  /** Terms without code extensions that are decoded as a whole (UTF-8, GB18030, GBK). */
  whole?: string;
}

const ASCII: CodeElement = { kind: 'ascii' };
const single = (enc: string): CodeElement => ({ kind: 'single', enc });

const SINGLE_BYTE: Record<string, string> = {
  '100': 'iso-8859-1',
  '101': 'iso-8859-2',
  '109': 'iso-8859-3',
  '110': 'iso-8859-4',
  '144': 'iso-8859-5',
  '127': 'iso-8859-6',
  '126': 'iso-8859-7',
  '138': 'iso-8859-8',
  '148': 'iso-8859-9',
  '203': 'iso-8859-15',
  '166': 'tis-620',
};

function termFor(raw: string): Term | undefined {
  const t = raw.trim().toUpperCase();
  if (t === '' || t === 'ISO_IR 6' || t === 'ISO 2022 IR 6') return { g0: ASCII };
  if (t === 'ISO_IR 192') return { whole: 'utf-8' };
  if (t === 'GB18030') return { whole: 'gb18030' };
  if (t === 'GBK') return { whole: 'gbk' };
  const m = /^ISO(?:_| 2022 )IR (\d+)$/.exec(t);
  if (!m) return undefined;
  const ir = m[1];
  if (SINGLE_BYTE[ir]) return { g0: ASCII, g1: single(SINGLE_BYTE[ir]) };
  switch (ir) {
    case '13':
      return { g0: { kind: 'roman' }, g1: { kind: 'kana' } };
    case '87':
      return { g0: { kind: 'double-gl', enc: 'jisx0208' } };
    case '159':
      return { g0: { kind: 'double-gl', enc: 'jisx0212' } };
    case '149':
      return { g0: ASCII, g1: { kind: 'double-gr', enc: 'euc-kr' } };
    case '58':
      return { g0: ASCII, g1: { kind: 'double-gr', enc: 'gbk' } };
    default:
      return undefined;
  }
}

/** The escape sequences of PS3.5 Tables 6.1-2 and 6.2-1... (bytes after ESC) and what they designate. */
const ESCAPES: ReadonlyArray<[number[], 'g0' | 'g1', CodeElement]> = [
  [[0x28, 0x42], 'g0', ASCII], // ESC ( B
  [[0x28, 0x4a], 'g0', { kind: 'roman' }], // ESC ( J
  [[0x29, 0x49], 'g1', { kind: 'kana' }], // ESC ) I
  [[0x24, 0x42], 'g0', { kind: 'double-gl', enc: 'jisx0208' }], // ESC $ B
  [[0x24, 0x40], 'g0', { kind: 'double-gl', enc: 'jisx0208' }], // ESC $ @ (JIS C 6226-1978, read only)
  [[0x24, 0x28, 0x44], 'g0', { kind: 'double-gl', enc: 'jisx0212' }], // ESC $ ( D
  [[0x24, 0x29, 0x43], 'g1', { kind: 'double-gr', enc: 'euc-kr' }], // ESC $ ) C
  [[0x24, 0x29, 0x41], 'g1', { kind: 'double-gr', enc: 'gbk' }], // ESC $ ) A
  [[0x2d, 0x41], 'g1', single('iso-8859-1')], // ESC - A
  [[0x2d, 0x42], 'g1', single('iso-8859-2')],
  [[0x2d, 0x43], 'g1', single('iso-8859-3')],
  [[0x2d, 0x44], 'g1', single('iso-8859-4')],
  [[0x2d, 0x4c], 'g1', single('iso-8859-5')],
  [[0x2d, 0x47], 'g1', single('iso-8859-6')],
  [[0x2d, 0x46], 'g1', single('iso-8859-7')],
  [[0x2d, 0x48], 'g1', single('iso-8859-8')],
  [[0x2d, 0x4d], 'g1', single('iso-8859-9')],
  [[0x2d, 0x62], 'g1', single('iso-8859-15')],
  [[0x2d, 0x54], 'g1', single('tis-620')],
];

function escapeFor(el: CodeElement, slot: 'g0' | 'g1'): number[] {
  for (const [seq, s, e] of ESCAPES) {
    if (s === slot && sameElement(e, el)) return [0x1b, ...seq];
  }
  throw new Error('no escape sequence for code element');
}

function sameElement(a: CodeElement | undefined, b: CodeElement | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  return (a as { enc?: string }).enc === (b as { enc?: string }).enc;
}

export class CharacterSets {
  /** The value of (0008,0005) as read, one entry per term. */
  readonly terms: readonly string[];
  readonly iso2022: boolean;
  private readonly whole: string | undefined;
  private readonly initial: Term;
  /** Terms that are not defined; values are then read as ISO 8859-1. */
  readonly unknownTerms: readonly string[];

  private constructor(terms: readonly string[]) {
    this.terms = terms;
    const parsed = terms.map((t) => ({ t, term: termFor(t) }));
    this.unknownTerms = parsed.filter((p) => !p.term).map((p) => p.t);
    const first = parsed[0]?.term ?? { g0: ASCII };
    this.iso2022 = terms.length > 1 || terms.some((t) => t.includes('2022'));
    this.whole = !this.iso2022 ? first.whole : undefined;
    if (this.iso2022 && first.whole) this.whole = undefined;
    this.initial = { g0: first.g0 ?? ASCII, g1: first.g1 };
    if (this.unknownTerms.length && !this.iso2022) this.initial = { g0: ASCII, g1: single('iso-8859-1') };
  }

  static readonly DEFAULT = new CharacterSets([]);
  private static cache = new Map<string, CharacterSets>();

  /** From the raw value of (0008,0005), backslash-separated. */
  static fromValue(value: string | undefined): CharacterSets {
    if (!value) return CharacterSets.DEFAULT;
    let cs = CharacterSets.cache.get(value);
    if (!cs) {
      const terms = value.split('\\').map((s) => s.trim());
      // A single empty value, or trailing padding, means the default repertoire.
      cs = terms.length === 1 && terms[0] === '' ? CharacterSets.DEFAULT : new CharacterSets(terms);
      if (CharacterSets.cache.size < 256) CharacterSets.cache.set(value, cs);
    }
    return cs;
  }

  get isDefault(): boolean {
    return this.terms.length === 0;
  }

  get isUtf8(): boolean {
    return this.whole === 'utf-8';
  }

  /** Decodes a value of a VR the character set applies to; the whole value, delimiters included. */
  decode(bytes: Uint8Array, vr: Vr): string {
    if (this.whole === 'utf-8') return utf8.decode(bytes);
    if (this.whole) return iconv.decode(toBuffer(bytes), this.whole);
    if (!this.iso2022) return this.decodeSingle(bytes);
    return this.decodeIso2022(bytes, vr);
  }

  private decodeSingle(bytes: Uint8Array): string {
    const g1 = this.initial.g1;
    if (isAscii(bytes) && this.initial.g0?.kind === 'ascii') return latin1(bytes);
    if (this.initial.g0?.kind === 'roman' || g1?.kind === 'kana') return this.decodeIso2022(bytes, 'LO');
    if (!g1 || g1.kind !== 'single') return latin1(bytes);
    if (g1.enc === 'iso-8859-1') return latin1(bytes);
    return iconv.decode(toBuffer(bytes), g1.enc);
  }

  private decodeIso2022(bytes: Uint8Array, vr: Vr): string {
    const delimiters = delimitersFor(vr);
    let g0 = this.initial.g0 ?? ASCII;
    let g1 = this.initial.g1;
    let out = '';
    let run: number[] = [];
    let runEnc = '';
    const flush = () => {
      if (run.length) out += decodeRun(run, runEnc);
      run = [];
    };
    const emit = (enc: string, ...b: number[]) => {
      if (enc !== runEnc) {
        flush();
        runEnc = enc;
      }
      run.push(...b);
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x1b) {
        const hit = ESCAPES.find(([seq]) => seq.every((s, k) => bytes[i + 1 + k] === s));
        if (hit) {
          if (hit[1] === 'g0') g0 = hit[2];
          else g1 = hit[2];
          i += hit[0].length;
          continue;
        }
        emit('latin1', b);
        continue;
      }
      if (b < 0x80) {
        if (g0.kind === 'double-gl' && b > 0x20 && b < 0x7f && i + 1 < bytes.length && bytes[i + 1] > 0x20) {
          if (g0.enc === 'jisx0208') emit('euc-jp', b | 0x80, bytes[i + 1] | 0x80);
          else emit('euc-jp', 0x8f, b | 0x80, bytes[i + 1] | 0x80);
          i++;
          continue;
        }
        if (delimiters.includes(b)) {
          g0 = this.initial.g0 ?? ASCII;
          g1 = this.initial.g1;
        }
        if (g0.kind === 'roman') {
          if (b === 0x5c) emit('utf16', 0xa5);
          else if (b === 0x7e) emit('utf16', 0x203e);
          else emit('latin1', b);
        } else emit('latin1', b);
        continue;
      }
      if (!g1) {
        emit('latin1', b);
        continue;
      }
      switch (g1.kind) {
        case 'kana':
          if (b >= 0xa1 && b <= 0xdf) emit('utf16', 0xff61 + (b - 0xa1));
          else emit('latin1', b);
          break;
        case 'single':
          emit(g1.enc, b);
          break;
        case 'double-gr':
          if (i + 1 < bytes.length && bytes[i + 1] >= 0x80) {
            emit(g1.enc, b, bytes[i + 1]);
            i++;
          } else emit('latin1', b);
          break;
        default:
          emit('latin1', b);
      }
    }
    flush();
    return out;
  }

  /** Encodes a value; raises LNT_DICOM_CHARSET when a character has no encoding in the declared sets. */
  encode(text: string, vr: Vr): Uint8Array {
    if (this.whole === 'utf-8') return utf8Encoder.encode(text);
    if (this.whole) return checkedEncode(text, this.whole);
    if (isAsciiString(text) && this.initial.g0?.kind === 'ascii') return latin1Encode(text);
    if (!this.iso2022) {
      const g1 = this.initial.g1;
      if (g1?.kind === 'single') return checkedEncode(text, g1.enc);
      if (isAsciiString(text)) return latin1Encode(text);
      throw new DicomFormatError('LNT_DICOM_CHARSET', `value cannot be encoded in ${this.terms.join('\\')}`);
    }
    return this.encodeIso2022(text, vr);
  }

  private encodeIso2022(text: string, vr: Vr): Uint8Array {
    const delimiters = delimitersFor(vr);
    const available: { slot: 'g0' | 'g1'; el: CodeElement }[] = [];
    for (const t of this.terms) {
      const term = termFor(t);
      if (term?.g0) available.push({ slot: 'g0', el: term.g0 });
      if (term?.g1) available.push({ slot: 'g1', el: term.g1 });
    }
    let g0 = this.initial.g0 ?? ASCII;
    let g1 = this.initial.g1;
    const out: number[] = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80) {
        if (g0.kind !== 'ascii' && !(g0.kind === 'roman' && cp !== 0x5c && cp !== 0x7e)) {
          out.push(0x1b, 0x28, 0x42);
          g0 = ASCII;
        }
        out.push(cp);
        if (delimiters.includes(cp)) {
          g0 = this.initial.g0 ?? ASCII;
          g1 = this.initial.g1;
          if (g0.kind !== 'ascii') {
            // The initial G0 is active again after a delimiter: nothing to emit.
          }
        }
        continue;
      }
      let done = false;
      for (const { slot, el } of available) {
        const bytes = encodeIn(ch, el);
        if (!bytes) continue;
        const active = slot === 'g0' ? g0 : g1;
        if (!sameElement(active, el)) {
          out.push(...escapeFor(el, slot));
          if (slot === 'g0') g0 = el;
          else g1 = el;
        }
        out.push(...bytes);
        done = true;
        break;
      }
      if (!done)
        throw new DicomFormatError(
          'LNT_DICOM_CHARSET',
          `value cannot be encoded in ${this.terms.join('\\')}`,
        );
    }
    // Leave G0 in ASCII at the end of the value, as PS3.5 6.1.2.5.3 requires.
    if (g0.kind !== 'ascii' && g0.kind !== 'roman') out.push(0x1b, 0x28, 0x42);
    return Uint8Array.from(out);
  }
}

function encodeIn(ch: string, el: CodeElement): number[] | undefined {
  switch (el.kind) {
    case 'ascii':
    case 'roman':
      return undefined;
    case 'kana': {
      const cp = ch.codePointAt(0)!;
      return cp >= 0xff61 && cp <= 0xff9f ? [0xa1 + (cp - 0xff61)] : undefined;
    }
    case 'single': {
      const b = iconv.encode(ch, el.enc);
      return b.length === 1 && b[0] >= 0xa0 && iconv.decode(b, el.enc) === ch ? [b[0]] : undefined;
    }
    case 'double-gl': {
      const b = iconv.encode(ch, 'euc-jp');
      if (iconv.decode(b, 'euc-jp') !== ch) return undefined;
      if (el.enc === 'jisx0208' && b.length === 2 && b[0] >= 0xa1) return [b[0] & 0x7f, b[1] & 0x7f];
      if (el.enc === 'jisx0212' && b.length === 3 && b[0] === 0x8f) return [b[1] & 0x7f, b[2] & 0x7f];
      return undefined;
    }
    case 'double-gr': {
      const b = iconv.encode(ch, el.enc);
      if (b.length !== 2 || b[0] < 0xa1 || b[1] < 0xa1 || iconv.decode(b, el.enc) !== ch) return undefined;
      return [b[0], b[1]];
    }
  }
}

function delimitersFor(vr: Vr): readonly number[] {
  if (vr === 'PN') return [0x5c, 0x5e, 0x3d]; // \ ^ =
  if (vr === 'LT' || vr === 'ST' || vr === 'UT') return [0x0d, 0x0a, 0x09, 0x0c];
  return [0x5c];
}

function decodeRun(run: number[], enc: string): string {
  if (enc === 'latin1') return String.fromCharCode(...run);
  if (enc === 'utf16') return String.fromCharCode(...run);
  return iconv.decode(Buffer.from(run), enc);
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80 || bytes[i] === 0x1b) return false;
  return true;
}

function isAsciiString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80 || s.charCodeAt(i) === 0x1b) return false;
  return true;
}

/** Bytes as ISO 8859-1 (every byte one code point). */
export function latin1(bytes: Uint8Array): string {
  if (bytes.length < 2048) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return toBuffer(bytes).toString('latin1');
}

/** A string as ISO 8859-1, a byte per UTF-16 unit (its low byte: Uint8Array stores modulo 256). */
export function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function checkedEncode(text: string, enc: string): Uint8Array {
  const b = iconv.encode(text, enc);
  if (iconv.decode(b, enc) !== text) {
    throw new DicomFormatError('LNT_DICOM_CHARSET', `value cannot be encoded in ${enc}`);
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
