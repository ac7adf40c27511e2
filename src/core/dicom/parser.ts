import { inflateRawSync } from 'node:zlib';
import { DicomFormatError } from '../errors.js';
import type { CharacterSets } from './charset.js';
import {
  type BulkRef,
  type DataElement,
  Dataset,
  type Encoding,
  EXPLICIT_BIG,
  EXPLICIT_LITTLE,
  type Fragment,
  IMPLICIT_LITTLE,
  type SequenceItem,
  UNDEFINED_LENGTH,
} from './dataset.js';
import { formatTag, lookupTag, Tag } from './dictionary.js';
import { lookupTransferSyntax, type TransferSyntax } from './transfer-syntax.js';
import { hasLongLength, isBulkVr, resolveDictionaryVr, type Vr, vrFromCode } from './vr.js';

/** 1 at the two-byte code of each VR with a 32-bit length in explicit VR encodings (PS3.5 7.1.2). */
const LONG_CODES = new Uint8Array(65536);
for (const v of ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']) {
  LONG_CODES[(v.charCodeAt(0) << 8) | v.charCodeAt(1)] = 1;
}

const ITEM = Tag.Item;
const ITEM_DELIM = Tag.ItemDelimitationItem;
const SEQ_DELIM = Tag.SequenceDelimitationItem;
const PIXEL_DATA = Tag.PixelData;

export interface ParseOptions {
  /** Stop at top-level Pixel Data: its header is read, nothing from its value on. */
  untilPixelData?: boolean;
  /**
   * Values of bulk VRs (OB, OW, OF, OD, OL, OV, UN) and pixel data fragments longer than this many bytes are
   * not kept in memory; the element records where they are (`bulk`). Default: every value is kept.
   */
  bulkDataThreshold?: number;
  /** Sequence nesting limit. Default 64. */
  maxDepth?: number;
  /** A kept (non-bulk) value longer than this is rejected. Default 256 MiB. */
  maxValueLength?: number;
  /** The dataset encoding when the input has no meta header and no DICM prefix (a bare dataset). */
  assumeTransferSyntax?: string;
  /** Reject odd value lengths (PS3.5 7.1.1). Default: accept them with a warning. */
  rejectOddLengths?: boolean;
  /**
   * Refuse what a lenient reader would step over but other toolkits (DCMTK, pydicom) cannot read: a sequence
   * delimiter outside any sequence, bytes after the last element, and a value whose length is not a
   * multiple of its VR's size (PS3.5 6.2: AT, FL, FD, SL, SS, SV, UL, US, UV, OD, OF, OL, OV, OW). Default:
   * accept them with a warning, or without one for value lengths.
   */
  strict?: boolean;
  /** Leave every pixel data fragment after the offset table in its source (`bulk`), whatever its size. */
  bulkFragments?: boolean;
}

export interface ParseResult {
  /** The 128-byte preamble, when the input had one. */
  readonly preamble: Uint8Array | undefined;
  /** File meta information (group 0002), when present. */
  readonly meta: Dataset | undefined;
  /** The transfer syntax the dataset was read in. */
  readonly transferSyntax: TransferSyntax;
  readonly dataset: Dataset;
  /** Offset of the first dataset byte in the input (after the meta header). */
  readonly datasetOffset: number;
  /** Offset of the top-level Pixel Data element's header, when there is one. */
  readonly pixelDataOffset: number | undefined;
  readonly stoppedAtPixelData: boolean;
  /** Input bytes consumed. */
  readonly bytesRead: number;
  /** Irregularities that did not stop reading (odd lengths, guessed encodings, a missing prefix, ...). */
  readonly warnings: readonly string[];
  /** For deflated transfer syntaxes: the compressed dataset bytes as read, for an exact rewrite. */
  readonly deflatedBody: Uint8Array | undefined;
}

interface DsFrame {
  t: 0;
  elements: DataElement[];
  end: number; // absolute end offset, -1 for undefined length, Infinity for the top level
  enc: Encoding;
  charset: CharacterSets | undefined;
  itemHeader: Uint8Array | undefined;
  itemLength: number;
  depth: number;
}
interface SqFrame {
  t: 1;
  tag: number;
  vr: Vr;
  header: Uint8Array;
  length: number;
  items: SequenceItem[];
  end: number;
  enc: Encoding; // encoding of the items
  depth: number;
}
interface FragFrame {
  t: 2;
  tag: number;
  vr: Vr;
  header: Uint8Array;
  fragments: Fragment[];
  enc: Encoding;
  depth: number;
}
type Frame = DsFrame | SqFrame | FragFrame;

type Phase = 'start' | 'meta' | 'body' | 'deflated' | 'stopped' | 'done';

const EMPTY = new Uint8Array(0);

/**
 * An incremental Part 10 / dataset reader: feed it chunks with push(), then call end(). It keeps as little
 * as it can: only the bytes of the element it is reading, and values below the bulk data threshold.
 * parseDicom() below reads a whole buffer without copying.
 */
export class DicomParser {
  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private base = 0; // absolute offset of buf[0]
  private phase: Phase = 'start';
  private skip = 0; // bytes of a bulk value still to pass over
  private readonly stack: Frame[] = [];
  private readonly opts: Required<Omit<ParseOptions, 'assumeTransferSyntax'>> & {
    assumeTransferSyntax?: string;
  };
  private preamble: Uint8Array | undefined;
  private metaElements: DataElement[] = [];
  private meta: Dataset | undefined;
  private ts: TransferSyntax | undefined;
  private datasetOffset = 0;
  private pixelDataOffset: number | undefined;
  private readonly warnings: string[] = [];
  private deflatedChunks: Uint8Array[] = [];
  private result: ParseResult | undefined;
  private topDataset: Dataset | undefined;

  constructor(options: ParseOptions = {}) {
    this.opts = {
      untilPixelData: options.untilPixelData ?? false,
      bulkDataThreshold: options.bulkDataThreshold ?? Infinity,
      maxDepth: options.maxDepth ?? 64,
      maxValueLength: options.maxValueLength ?? 256 * 1024 * 1024,
      assumeTransferSyntax: options.assumeTransferSyntax,
      rejectOddLengths: options.rejectOddLengths ?? false,
      strict: options.strict ?? false,
      bulkFragments: options.bulkFragments ?? false,
    };
  }

  /** True once the reader needs no more input (it stopped at Pixel Data). */
  get stopped(): boolean {
    return this.phase === 'stopped';
  }

  /** The transfer syntax, once the meta header has been read. */
  get transferSyntax(): TransferSyntax | undefined {
    return this.ts;
  }

  /** True once the input has shown a file meta header; false for a bare dataset; undefined before it is known. */
  get hasMeta(): boolean | undefined {
    if (!this.ts) return undefined;
    return this.meta !== undefined;
  }

  /** The tag of the last element begun at the top level of the dataset (0 before the dataset). */
  get lastTopLevelTag(): number {
    const top = this.stack[0] as DsFrame | undefined;
    if (!top) return 0;
    if (this.stack.length > 1) {
      const f = this.stack[1];
      return f.t === 0 ? 0 : f.tag;
    }
    const last = top.elements[top.elements.length - 1];
    return last ? last.tag : 0;
  }

  /** The top-level elements read so far, as a dataset (for decisions made before the end). */
  peekTopLevel(): Dataset {
    const top = this.stack[0] as DsFrame | undefined;
    return new Dataset(top ? top.elements.slice() : [], top?.enc ?? EXPLICIT_LITTLE);
  }

  get absolutePosition(): number {
    return this.base + this.pos;
  }

  push(chunk: Uint8Array): void {
    if (this.phase === 'stopped' || chunk.length === 0) return;
    // Views of a plain Uint8Array are much cheaper to make than views of a Node Buffer.
    if (Object.getPrototypeOf(chunk) !== Uint8Array.prototype)
      chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.phase === 'done') throw new Error('push after end');
    if (this.phase === 'deflated') {
      this.deflatedChunks.push(chunk);
      return;
    }
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      this.base += this.buf.length + n;
      this.buf = EMPTY;
      this.pos = 0;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    if (this.pos >= this.buf.length) {
      this.base += this.buf.length;
      this.buf = chunk;
      this.pos = 0;
    } else {
      const rest = this.buf.length - this.pos;
      const nb = new Uint8Array(rest + chunk.length);
      nb.set(this.buf.subarray(this.pos), 0);
      nb.set(chunk, rest);
      this.base += this.pos;
      this.buf = nb;
      this.pos = 0;
    }
    this.run(false);
  }

  end(): ParseResult {
    if (this.result) return this.result;
    if (this.phase === 'deflated') this.inflate();
    else if (this.phase !== 'stopped') this.run(true);
    this.finish();
    return this.result!;
  }

  // ---------------------------------------------------------------------------------------------------------

  private run(eof: boolean): void {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length - this.pos);
        this.pos += n;
        this.skip -= n;
        if (this.skip > 0) {
          if (eof) this.truncated(`a value ends ${this.skip} bytes before its declared length`);
          return;
        }
      }
      let progressed: boolean;
      switch (this.phase) {
        case 'start':
          progressed = this.readStart(eof);
          break;
        case 'meta':
          progressed = this.readMeta(eof);
          break;
        case 'body':
          progressed = this.readBody(eof);
          break;
        default:
          return;
      }
      if (!progressed) return;
    }
  }

  private avail(): number {
    return this.buf.length - this.pos;
  }

  private truncated(what: string): never {
    throw new DicomFormatError('LNT_DICOM_TRUNCATED', `input ends early: ${what}`, this.base + this.pos);
  }

  private readStart(eof: boolean): boolean {
    const b = this.buf;
    const p = this.pos;
    if (this.avail() < 132 && !eof) return false;
    if (
      this.avail() >= 132 &&
      b[p + 128] === 0x44 &&
      b[p + 129] === 0x49 &&
      b[p + 130] === 0x43 &&
      b[p + 131] === 0x4d
    ) {
      this.preamble = b.subarray(p, p + 128);
      this.pos += 132;
      this.phase = 'meta';
      return true;
    }
    if (this.avail() >= 6 && b[p] === 0x02 && b[p + 1] === 0x00 && vrFromCode(b[p + 4], b[p + 5])) {
      this.warnings.push('no preamble or DICM prefix: the meta header starts at byte 0');
      this.phase = 'meta';
      return true;
    }
    if (
      this.avail() >= 134 &&
      b[p + 128] === 0x02 &&
      b[p + 129] === 0x00 &&
      vrFromCode(b[p + 132], b[p + 133])
    ) {
      this.warnings.push('damaged DICM prefix: read the meta header after the preamble');
      this.preamble = b.subarray(p, p + 128);
      this.pos += 128;
      this.phase = 'meta';
      return true;
    }
    // A bare dataset without meta information.
    const enc = this.opts.assumeTransferSyntax
      ? lookupTransferSyntax(this.opts.assumeTransferSyntax)
      : this.guessEncoding(p);
    if (!enc)
      throw new DicomFormatError(
        'LNT_DICOM_NOT_DICOM',
        'no DICM prefix, and the first bytes are not a DICOM element',
        this.base + p,
      );
    if (!this.opts.assumeTransferSyntax) this.warnings.push(`no file meta information: read as ${enc.name}`);
    this.beginBody(enc);
    return true;
  }

  /** Guesses the encoding of a bare dataset from its first element, or undefined when it is not one. */
  private guessEncoding(p: number, afterMeta = false): TransferSyntax | undefined {
    const b = this.buf;
    if (this.avail() < 8) return undefined;
    const le = b[p] | (b[p + 1] << 8);
    const be = (b[p] << 8) | b[p + 1];
    const littleEndian = le <= be;
    const group = littleEndian ? le : be;
    // A bare dataset starts with one of the first groups; after a meta header any group is plausible.
    if (!afterMeta && (group % 2 !== 0 || group < 0x0002 || group > 0x0030)) return undefined;
    if (afterMeta && (group < 0x0001 || group === 0xfffe)) return undefined;
    const explicit = vrFromCode(b[p + 4], b[p + 5]) !== undefined;
    if (!explicit) {
      const len = littleEndian
        ? (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0
        : ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
      if (len !== UNDEFINED_LENGTH && len > this.avail() - 8) return undefined;
    }
    if (!littleEndian && !explicit) return undefined;
    const uid = !explicit
      ? '1.2.840.10008.1.2'
      : littleEndian
        ? '1.2.840.10008.1.2.1'
        : '1.2.840.10008.1.2.2';
    return lookupTransferSyntax(uid);
  }

  private readMeta(eof: boolean): boolean {
    const b = this.buf;
    const p = this.pos;
    if (this.avail() < 8) {
      if (!eof) return false;
      if (this.avail() === 0) return this.endMeta();
      this.truncated('inside the file meta information');
    }
    if (b[p] !== 0x02 || b[p + 1] !== 0x00) return this.endMeta();
    const tag = ((b[p] | (b[p + 1] << 8)) * 0x10000 + (b[p + 2] | (b[p + 3] << 8))) >>> 0;
    let vr = vrFromCode(b[p + 4], b[p + 5]);
    let hlen: number;
    let len: number;
    if (vr) {
      if (hasLongLength(vr)) {
        if (this.avail() < 12) {
          if (!eof) return false;
          this.truncated('inside the file meta information');
        }
        hlen = 12;
        len = (b[p + 8] | (b[p + 9] << 8) | (b[p + 10] << 16) | (b[p + 11] << 24)) >>> 0;
      } else {
        hlen = 8;
        len = b[p + 6] | (b[p + 7] << 8);
      }
    } else {
      // Some writers put the meta header in implicit VR: accept it, with a warning.
      this.warnings.push(`meta element ${formatTag(tag)} has no explicit VR`);
      vr = resolveDictionaryVr(lookupTag(tag)?.vr);
      hlen = 8;
      len = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
    }
    if (len === UNDEFINED_LENGTH || len > 65536) {
      throw new DicomFormatError(
        'LNT_DICOM_BAD_LENGTH',
        `meta element ${formatTag(tag)} has length ${len}`,
        this.base + p,
      );
    }
    if (this.avail() < hlen + len) {
      if (!eof) return false;
      this.truncated(`meta element ${formatTag(tag)} declares ${len} bytes, ${this.avail() - hlen} remain`);
    }
    this.metaElements.push({
      tag,
      vr,
      length: len,
      header: b.subarray(p, p + hlen),
      value: b.subarray(p + hlen, p + hlen + len),
    });
    this.pos += hlen + len;
    return true;
  }

  private endMeta(): boolean {
    this.meta = new Dataset(this.metaElements, EXPLICIT_LITTLE);
    const el = this.meta.get(Tag.TransferSyntaxUID);
    const uid = el?.value ? asciiTrim(el.value) : '';
    let ts = uid ? lookupTransferSyntax(uid) : undefined;
    if (!uid) {
      ts = this.opts.assumeTransferSyntax
        ? lookupTransferSyntax(this.opts.assumeTransferSyntax)
        : this.guessEncoding(this.pos, true);
      if (!ts)
        throw new DicomFormatError(
          'LNT_DICOM_NOT_DICOM',
          'meta header has no transfer syntax and the dataset cannot be recognised',
          this.base + this.pos,
        );
      this.warnings.push(`meta header has no transfer syntax: read as ${ts.name}`);
    }
    if (!ts) {
      throw new DicomFormatError(
        'LNT_DICOM_UNSUPPORTED_TRANSFER_SYNTAX',
        `unknown transfer syntax ${uid.slice(0, 64)}`,
      );
    }
    this.beginBody(ts);
    return true;
  }

  private beginBody(ts: TransferSyntax): void {
    this.ts = ts;
    this.datasetOffset = this.base + this.pos;
    const enc = !ts.explicitVr ? IMPLICIT_LITTLE : ts.littleEndian ? EXPLICIT_LITTLE : EXPLICIT_BIG;
    this.stack.push({
      t: 0,
      elements: [],
      end: Infinity,
      enc,
      charset: undefined,
      itemHeader: undefined,
      itemLength: 0,
      depth: 0,
    });
    if (ts.deflated) {
      this.phase = 'deflated';
      if (this.avail() > 0) this.deflatedChunks.push(this.buf.subarray(this.pos));
      this.pos = this.buf.length;
    } else this.phase = 'body';
  }

  private inflate(): void {
    const compressed = concat(this.deflatedChunks);
    let inflated: Uint8Array;
    try {
      inflated = inflateRawSync(compressed, { maxOutputLength: this.opts.maxValueLength });
    } catch (e) {
      throw new DicomFormatError(
        'LNT_DICOM_TRUNCATED',
        `deflated dataset cannot be inflated: ${(e as Error).message}`,
      );
    }
    this.deflatedBody = compressed;
    this.buf = inflated;
    this.pos = 0;
    this.base = 0;
    this.phase = 'body';
    this.run(true);
  }
  private deflatedBody: Uint8Array | undefined;

  /** Reads one step of the body. Returns false when more input is needed (or reading ended). */
  private readBody(eof: boolean): boolean {
    const frame = this.stack[this.stack.length - 1];
    const b = this.buf;
    const p = this.pos;
    const abs = this.base + p;
    if (frame.t !== 0 || frame.end !== Infinity) {
      // Defined-length containers end where they said they would.
      const end = frame.t === 2 ? -1 : frame.end;
      if (end >= 0 && abs >= end) {
        if (abs > end)
          throw new DicomFormatError(
            'LNT_DICOM_BAD_LENGTH',
            'an element runs past the end of its item or sequence',
            abs,
          );
        this.pop(undefined);
        return true;
      }
    }
    const enc = frame.enc;
    if (this.avail() < 8) {
      if (!eof) return false;
      if (this.avail() === 0 && this.stack.length === 1) {
        this.phase = 'done';
        return false;
      }
      if (this.avail() === 0) this.truncated(`${this.describeOpen()} is not closed`);
      // Trailing padding shorter than an element header at the very end: tolerate, with a warning.
      if (this.stack.length === 1) {
        if (this.opts.strict)
          throw new DicomFormatError(
            'LNT_DICOM_TRUNCATED',
            `${this.avail()} bytes after the last element are not an element`,
            abs,
          );
        this.warnings.push(`${this.avail()} trailing bytes after the last element ignored`);
        this.pos = this.buf.length;
        this.phase = 'done';
        return false;
      }
      this.truncated(`${this.describeOpen()} is not closed`);
    }
    const le = enc.littleEndian;
    const group = le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
    const element = le ? b[p + 2] | (b[p + 3] << 8) : (b[p + 2] << 8) | b[p + 3];
    const tag = (group * 0x10000 + element) >>> 0;

    if (frame.t === 1 || frame.t === 2 || group === 0xfffe) {
      return this.readDelimiterOrItem(frame, tag, eof);
    }

    // An ordinary element in a dataset frame.
    let vr: Vr;
    let hlen: number;
    let len: number;
    if (enc.explicitVr) {
      const v = vrFromCode(b[p + 4], b[p + 5]);
      if (v === undefined) {
        throw new DicomFormatError(
          'LNT_DICOM_UNKNOWN_VR',
          `element ${formatTag(tag)} has an unknown VR (bytes 0x${hex2(b[p + 4])} 0x${hex2(b[p + 5])})`,
          abs,
        );
      }
      vr = v;
      if (LONG_CODES[(b[p + 4] << 8) | b[p + 5]] === 1) {
        if (this.avail() < 12) {
          if (!eof) return false;
          this.truncated(`inside the header of ${formatTag(tag)}`);
        }
        hlen = 12;
        len = readU32(b, p + 8, le);
      } else {
        hlen = 8;
        len = le ? b[p + 6] | (b[p + 7] << 8) : (b[p + 6] << 8) | b[p + 7];
      }
    } else {
      hlen = 8;
      len = readU32(b, p + 4, le);
      vr = implicitVr(tag, len);
      if (vr === 'US' && lookupTag(tag)?.vr === 'US or SS' && signedPixels(frame)) vr = 'SS';
    }
    const header = b.subarray(p, p + hlen);
    const depth = this.stack.length;

    if (len === UNDEFINED_LENGTH) {
      if (tag === PIXEL_DATA && frame.end === Infinity) {
        this.pixelDataOffset = abs;
        if (this.opts.untilPixelData) return this.stopAt(frame, { tag, vr, length: len, header });
      }
      if (tag === PIXEL_DATA || (vr !== 'SQ' && vr !== 'UN' && enc.explicitVr && isBulkVr(vr))) {
        this.pos += hlen;
        this.stack.push({ t: 2, tag, vr, header, fragments: [], enc, depth });
        return true;
      }
      if (vr !== 'SQ' && vr !== 'UN' && enc.explicitVr) {
        throw new DicomFormatError(
          'LNT_DICOM_BAD_LENGTH',
          `element ${formatTag(tag)} (${vr}) has undefined length`,
          abs,
        );
      }
      this.pushSequence(tag, vr, header, len, -1, vr === 'UN' ? IMPLICIT_LITTLE : enc, abs);
      this.pos += hlen;
      return true;
    }

    if (vr === 'SQ') {
      const end = abs + hlen + len;
      if (frame.end !== Infinity && frame.end >= 0 && end > frame.end)
        this.overrun(tag, len, end - frame.end, abs);
      this.pushSequence(tag, vr, header, len, end, enc, abs);
      this.pos += hlen;
      return true;
    }

    if (frame.end !== Infinity && frame.end >= 0 && abs + hlen + len > frame.end) {
      this.overrun(tag, len, abs + hlen + len - frame.end, abs);
    }
    if (this.opts.strict) {
      const size = FIXED_SIZE[vr];
      if (size && len % size !== 0 && (enc.explicitVr || !lookupTag(tag)?.vr.includes(' or '))) {
        throw new DicomFormatError(
          'LNT_DICOM_BAD_LENGTH',
          `element ${formatTag(tag)} (${vr}) of ${len} bytes is not a multiple of ${size}`,
          abs,
        );
      }
    }
    if (len % 2 === 1) {
      if (this.opts.rejectOddLengths) {
        throw new DicomFormatError(
          'LNT_DICOM_ODD_LENGTH',
          `element ${formatTag(tag)} has odd length ${len}`,
          abs,
        );
      }
      this.warnings.push(`element ${formatTag(tag)} has odd length ${len}`);
    }
    if (tag === PIXEL_DATA && depth === 1) {
      this.pixelDataOffset = abs;
      if (this.opts.untilPixelData)
        return this.stopAt(frame, {
          tag,
          vr,
          length: len,
          header,
          bulk: { offset: abs + hlen, length: len },
        });
    }
    if (len > this.opts.bulkDataThreshold && (isBulkVr(vr) || tag === PIXEL_DATA)) {
      if (this.avail() < hlen) return false;
      frame.elements.push({ tag, vr, length: len, header, bulk: { offset: abs + hlen, length: len } });
      this.pos += hlen;
      this.skip = len;
      return true;
    }
    if (len > this.opts.maxValueLength) {
      throw new DicomFormatError(
        'LNT_DICOM_TOO_LARGE',
        `element ${formatTag(tag)} of ${len} bytes exceeds the limit`,
        abs,
      );
    }
    if (this.avail() < hlen + len) {
      if (!eof) return false;
      this.truncated(
        `element ${formatTag(tag)} declares ${len} bytes, ${Math.max(0, this.avail() - hlen)} remain`,
      );
    }
    frame.elements.push({ tag, vr, length: len, header, value: b.subarray(p + hlen, p + hlen + len) });
    this.pos += hlen + len;
    return true;
  }

  private readDelimiterOrItem(frame: Frame, tag: number, eof: boolean): boolean {
    const b = this.buf;
    const p = this.pos;
    const abs = this.base + p;
    const le = frame.enc.littleEndian;
    const len = readU32(b, p + 4, le);
    const header = b.subarray(p, p + 8);
    if (frame.t === 0) {
      if (tag === ITEM_DELIM && frame.itemHeader && frame.end === -1) {
        this.pos += 8;
        this.pop(header);
        return true;
      }
      if (tag === SEQ_DELIM && frame.end === Infinity && !this.opts.strict) {
        // A stray sequence delimiter at the top level (seen after pixel data in some files).
        this.warnings.push('sequence delimitation item outside a sequence ignored');
        this.pos += 8;
        frame.elements.push({ tag, vr: 'UN', length: len, header, value: EMPTY });
        return true;
      }
      const what =
        tag === SEQ_DELIM
          ? 'a sequence delimiter outside any sequence'
          : tag === ITEM_DELIM
            ? 'an item delimiter outside an item of undefined length'
            : `${formatTag(tag)} outside a sequence`;
      throw new DicomFormatError('LNT_DICOM_BAD_STRUCTURE', what, abs);
    }
    if (tag === SEQ_DELIM) {
      if (frame.t === 1 && frame.end !== -1) {
        throw new DicomFormatError(
          'LNT_DICOM_BAD_STRUCTURE',
          'sequence delimiter in a defined-length sequence',
          abs,
        );
      }
      this.pos += 8;
      this.pop(header);
      return true;
    }
    if (tag !== ITEM) {
      const what = frame.t === 1 ? 'sequence' : 'encapsulated pixel data';
      throw new DicomFormatError(
        'LNT_DICOM_BAD_STRUCTURE',
        `${formatTag(tag)} where an item of a ${what} must be`,
        abs,
      );
    }
    if (frame.t === 1) {
      const depth = frame.depth + 1;
      if (depth > this.opts.maxDepth) {
        throw new DicomFormatError(
          'LNT_DICOM_TOO_DEEP',
          `sequences nested deeper than ${this.opts.maxDepth} levels`,
          abs,
        );
      }
      let end = -1;
      if (len !== UNDEFINED_LENGTH) {
        end = abs + 8 + len;
        if (frame.end >= 0 && end > frame.end) {
          throw new DicomFormatError(
            'LNT_DICOM_BAD_LENGTH',
            `item of ${len} bytes runs past the end of sequence ${formatTag(frame.tag)}`,
            abs,
          );
        }
      }
      this.pos += 8;
      this.stack.push({
        t: 0,
        elements: [],
        end,
        enc: frame.enc,
        charset: undefined,
        itemHeader: header,
        itemLength: len,
        depth,
      });
      return true;
    }
    // A fragment of encapsulated pixel data.
    if (len === UNDEFINED_LENGTH) {
      throw new DicomFormatError('LNT_DICOM_BAD_LENGTH', 'pixel data fragment with undefined length', abs);
    }
    if (len > this.opts.bulkDataThreshold || (this.opts.bulkFragments && frame.fragments.length > 0)) {
      frame.fragments.push({ header, length: len, bulk: { offset: abs + 8, length: len } });
      this.pos += 8;
      this.skip = len;
      return true;
    }
    if (len > this.opts.maxValueLength) {
      throw new DicomFormatError(
        'LNT_DICOM_TOO_LARGE',
        `pixel data fragment of ${len} bytes exceeds the limit`,
        abs,
      );
    }
    if (this.avail() < 8 + len) {
      if (!eof) return false;
      this.truncated(`pixel data fragment declares ${len} bytes, ${Math.max(0, this.avail() - 8)} remain`);
    }
    frame.fragments.push({ header, length: len, value: b.subarray(p + 8, p + 8 + len) });
    this.pos += 8 + len;
    return true;
  }

  private pushSequence(
    tag: number,
    vr: Vr,
    header: Uint8Array,
    length: number,
    end: number,
    enc: Encoding,
    abs: number,
  ): void {
    const depth = this.stack.length;
    if (depth > this.opts.maxDepth) {
      throw new DicomFormatError(
        'LNT_DICOM_TOO_DEEP',
        `sequences nested deeper than ${this.opts.maxDepth} levels`,
        abs,
      );
    }
    this.stack.push({ t: 1, tag, vr, header, length, items: [], end, enc, depth });
  }

  private overrun(tag: number, len: number, by: number, abs: number): never {
    throw new DicomFormatError(
      'LNT_DICOM_BAD_LENGTH',
      `element ${formatTag(tag)} of ${len} bytes runs ${by} bytes past the end of its item or sequence`,
      abs,
    );
  }

  /** Closes the innermost frame; `trailer` is the delimitation item that closed it, if any. */
  private pop(trailer: Uint8Array | undefined): void {
    const frame = this.stack.pop()!;
    const parent = this.stack[this.stack.length - 1];
    if (frame.t === 0) {
      const seq = parent as SqFrame;
      const parentDs = this.stack[this.stack.length - 2] as DsFrame | undefined;
      const ds = new Dataset(frame.elements, frame.enc, parentDs ? this.charsetOf(parentDs) : undefined);
      seq.items.push({ header: frame.itemHeader, dataset: ds, trailer, length: frame.itemLength });
      return;
    }
    const ds = parent as DsFrame;
    if (frame.t === 1) {
      ds.elements.push({
        tag: frame.tag,
        vr: frame.vr,
        length: frame.length,
        header: frame.header,
        items: frame.items,
        trailer,
      });
    } else {
      ds.elements.push({
        tag: frame.tag,
        vr: frame.vr,
        length: UNDEFINED_LENGTH,
        header: frame.header,
        fragments: frame.fragments,
        trailer,
      });
    }
  }

  private charsetOf(frame: DsFrame): CharacterSets {
    // Build a throwaway view of the enclosing dataset to resolve its character set (own or inherited).
    const parentDs = this.findParentDs(frame);
    const parentCs = parentDs ? this.charsetOf(parentDs) : undefined;
    return new Dataset(frame.elements, frame.enc, parentCs).charset;
  }

  private findParentDs(frame: DsFrame): DsFrame | undefined {
    const i = this.stack.indexOf(frame);
    for (let k = i - 1; k >= 0; k--) {
      const f = this.stack[k];
      if (f.t === 0) return f;
    }
    return undefined;
  }

  private stopAt(frame: DsFrame, el: DataElement): boolean {
    frame.elements.push(el);
    this.phase = 'stopped';
    return false;
  }

  private describeOpen(): string {
    const f = this.stack[this.stack.length - 1];
    if (f.t === 1) return `sequence ${formatTag(f.tag)}`;
    if (f.t === 2) return `encapsulated ${formatTag(f.tag)}`;
    return 'an item';
  }

  private finish(): void {
    if (this.phase === 'start' || this.phase === 'meta') {
      // Reached only for inputs too short to hold anything.
      if (this.phase === 'meta') this.endMeta();
      else throw new DicomFormatError('LNT_DICOM_NOT_DICOM', 'input too short to be DICOM', 0);
    }
    if (this.phase !== 'stopped' && this.stack.length !== 1) {
      this.truncated(`${this.describeOpen()} is not closed`);
    }
    const top = this.stack[0] as DsFrame;
    this.topDataset = new Dataset(top.elements, top.enc);
    this.result = {
      preamble: this.preamble,
      meta: this.meta,
      transferSyntax: this.ts!,
      dataset: this.topDataset,
      datasetOffset: this.datasetOffset,
      pixelDataOffset: this.pixelDataOffset,
      stoppedAtPixelData: this.phase === 'stopped',
      bytesRead: this.base + this.pos,
      warnings: this.warnings,
      deflatedBody: this.deflatedBody,
    };
    if (this.phase !== 'stopped') this.phase = 'done';
  }
}

/** The size of one value of the VRs whose values have a fixed size (PS3.5 Table 6.2-1). */
const FIXED_SIZE: Partial<Record<Vr, number>> = {
  AT: 4,
  FL: 4,
  FD: 8,
  SL: 4,
  SS: 2,
  SV: 8,
  UL: 4,
  US: 2,
  UV: 8,
  OD: 8,
  OF: 4,
  OL: 4,
  OV: 8,
  OW: 2,
};

function implicitVr(tag: number, len: number): Vr {
  const el = tag & 0xffff;
  if (el === 0) return 'UL';
  if ((tag >>> 16) & 1) {
    if (el >= 0x10 && el <= 0xff) return 'LO';
    return len === UNDEFINED_LENGTH ? 'SQ' : 'UN';
  }
  const entry = lookupTag(tag);
  if (!entry) return len === UNDEFINED_LENGTH ? 'SQ' : 'UN';
  return resolveDictionaryVr(entry.vr);
}

/** Pixel Representation 1 (signed) in the dataset read so far: "US or SS" elements are then SS. */
function signedPixels(frame: DsFrame): boolean {
  for (let i = frame.elements.length - 1; i >= 0; i--) {
    const e = frame.elements[i];
    if (e.tag === Tag.PixelRepresentation)
      return !!e.value && e.value.length >= 2 && (e.value[0] | e.value[1]) === 1;
    if (e.tag < Tag.PixelRepresentation) return false;
  }
  return false;
}

function readU32(b: Uint8Array, p: number, le: boolean): number {
  return le
    ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
    : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function asciiTrim(v: Uint8Array): string {
  let s = '';
  for (const c of v) s += String.fromCharCode(c);
  return s.replace(/[\0 ]+$/, '').trim();
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Reads a whole Part 10 file (or bare dataset) from memory, without copying its bytes. */
export function parseDicom(bytes: Uint8Array, options?: ParseOptions): ParseResult {
  const p = new DicomParser(options);
  p.push(bytes);
  return p.end();
}

export type { BulkRef };

/** VRs whose explicit-VR header has a 4-byte length after two reserved bytes (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * Where the data set starts in a Part 10 file whose first bytes are `head`: after the preamble, `DICM` and
 * the file meta elements (group 0002, explicit VR little endian), read element by element without trusting
 * the group length. Undefined when `head` is not such a file or ends before the meta header does.
 */
export function metaHeaderEnd(head: Uint8Array): number | undefined {
  if (
    head.length < 132 ||
    head[128] !== 0x44 ||
    head[129] !== 0x49 ||
    head[130] !== 0x43 ||
    head[131] !== 0x4d
  )
    return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let o = 132;
  for (;;) {
    if (o + 8 > head.length) return undefined;
    if (dv.getUint16(o, true) !== 0x0002) return o;
    const vr = String.fromCharCode(head[o + 4], head[o + 5]);
    if (LONG_VRS.has(vr)) {
      if (o + 12 > head.length) return undefined;
      o += 12 + dv.getUint32(o + 8, true);
    } else o += 8 + dv.getUint16(o + 6, true);
  }
}
