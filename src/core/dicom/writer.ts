import { deflateRawSync } from 'node:zlib';
import { DicomFormatError } from '../errors.js';
import {
  type BulkRef,
  type DataElement,
  Dataset,
  type Encoding,
  EXPLICIT_LITTLE,
  IMPLICIT_LITTLE,
  EXPLICIT_BIG,
  type SequenceItem,
  sameEncoding,
  UNDEFINED_LENGTH,
} from './dataset.js';
import { formatTag, Tag } from './dictionary.js';
import type { ParseResult } from './parser.js';
import { lookupTransferSyntax, type TransferSyntax } from './transfer-syntax.js';
import { hasLongLength, valueWidth, type Vr } from './vr.js';

export interface WriteOptions {
  /** Supplies values that were left in the source (bulk data read by reference). */
  readBulk?: (ref: BulkRef) => Uint8Array;
}

type Sink = (chunk: Uint8Array) => void;

/**
 * The 8 bytes of an item or delimiter (group FFFE: no VR in any encoding): its tag and 32-bit length.
 */
export function itemTagHeader(tag: number, length: number, littleEndian = true): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, tag >>> 16, littleEndian);
  dv.setUint16(2, tag & 0xffff, littleEndian);
  dv.setUint32(4, length, littleEndian);
  return h;
}

const ITEM_UNDEFINED_LE = itemTagHeader(Tag.Item, UNDEFINED_LENGTH);
const ITEM_DELIM_LE = itemTagHeader(Tag.ItemDelimitationItem, 0);
const SEQ_DELIM_LE = itemTagHeader(Tag.SequenceDelimitationItem, 0);

/** Byte widths to swap when a value moves between little and big endian (AT is a pair of 16-bit words). */
function swapWidth(vr: Vr): number | undefined {
  return vr === 'AT' ? 2 : valueWidth(vr);
}

class Writer {
  /** Where headers are built when the sink copies each chunk before the next (encodeDataset). */
  private readonly scratch?: Uint8Array;
  private readonly scratchView?: DataView;

  constructor(
    private readonly enc: Encoding,
    private readonly opts: WriteOptions,
    copyingSink = false,
  ) {
    if (copyingSink) {
      this.scratch = new Uint8Array(12);
      this.scratchView = new DataView(this.scratch.buffer);
    }
  }

  /** Encoded size of a leaf element's value, or of encapsulated fragments with their delimiter. */
  valueLength(el: DataElement): number {
    if (el.fragments) {
      let n = 0;
      for (const f of el.fragments) n += 8 + f.length;
      return n + 8;
    }
    return el.value ? el.value.length : el.bulk ? el.bulk.length : 0;
  }

  itemSize(it: SequenceItem, enc: Encoding): number {
    const body = this.datasetSize(it.dataset, enc);
    return 8 + body + (it.length === UNDEFINED_LENGTH ? 8 : 0);
  }

  datasetSize(ds: Dataset, enc: Encoding): number {
    let n = 0;
    for (const el of ds.elements) n += this.elementSize(el, enc);
    return n;
  }

  elementSize(el: DataElement, enc: Encoding): number {
    if (el.items) {
      const len = this.seqLength(el, enc);
      const body = el.length === UNDEFINED_LENGTH ? len + 8 : len;
      return this.headerSize(el.vr, enc, len) + body;
    }
    if (el.fragments) return this.headerSize(el.vr, enc, 0) + this.valueLength(el);
    const len = this.valueLength(el);
    return this.headerSize(el.vr, enc, len) + len;
  }

  private seqLength(el: DataElement, enc: Encoding): number {
    const itemEnc = el.vr === 'UN' && el.length === UNDEFINED_LENGTH ? IMPLICIT_LITTLE : enc;
    let n = 0;
    for (const it of el.items!) n += this.itemSize(it, itemEnc);
    return n;
  }

  headerSize(vr: Vr, enc: Encoding, len: number): number {
    if (!enc.explicitVr) return 8;
    return hasLongLength(vr) || len > 0xffff ? 12 : 8;
  }

  writeDataset(ds: Dataset, enc: Encoding, sink: Sink): void {
    const reuse = sameEncoding(ds.encoding, enc);
    for (const el of ds.elements) this.writeElement(el, ds.encoding, enc, reuse, sink);
  }

  private writeElement(el: DataElement, srcEnc: Encoding, enc: Encoding, reuse: boolean, sink: Sink): void {
    if (el.items) {
      const itemEnc = el.vr === 'UN' && el.length === UNDEFINED_LENGTH ? IMPLICIT_LITTLE : enc;
      const len = this.seqLength(el, enc);
      const undefinedLen = el.length === UNDEFINED_LENGTH;
      const declared = undefinedLen ? UNDEFINED_LENGTH : len;
      if (reuse && el.header && el.length === declared) sink(el.header);
      else sink(this.header(el.tag, el.vr, declared, enc));
      for (const it of el.items) this.writeItem(it, itemEnc, sink);
      if (undefinedLen) sink(reuse && el.trailer ? el.trailer : delimiter(SEQ_DELIM_LE, enc));
      return;
    }
    if (el.fragments) {
      if (reuse && el.header) sink(el.header);
      else sink(this.header(el.tag, el.vr, UNDEFINED_LENGTH, enc));
      for (const f of el.fragments) {
        sink(reuse && f.header ? f.header : itemHeader(f.length, enc));
        sink(f.value ?? this.bulk(el.tag, f.bulk));
      }
      sink(reuse && el.trailer ? el.trailer : delimiter(SEQ_DELIM_LE, enc));
      return;
    }
    const value = el.value ?? this.bulk(el.tag, el.bulk);
    if (reuse && el.header && el.length === value.length) {
      sink(el.header);
      sink(value);
      return;
    }
    const vr: Vr = enc.explicitVr && !hasLongLength(el.vr) && value.length > 0xffff ? 'UN' : el.vr;
    sink(this.header(el.tag, vr, value.length, enc));
    const width = swapWidth(el.vr);
    sink(srcEnc.littleEndian !== enc.littleEndian && width ? swapBytes(value, width) : value);
  }

  private writeItem(it: SequenceItem, enc: Encoding, sink: Sink): void {
    const reuse = sameEncoding(it.dataset.encoding, enc);
    const undefinedLen = it.length === UNDEFINED_LENGTH;
    const body = this.datasetSize(it.dataset, enc);
    if (undefinedLen) sink(reuse && it.header ? it.header : itemHeader(UNDEFINED_LENGTH, enc));
    else sink(reuse && it.header && it.length === body ? it.header : itemHeader(body, enc));
    this.writeDataset(it.dataset, enc, sink);
    if (undefinedLen) sink(reuse && it.trailer ? it.trailer : delimiter(ITEM_DELIM_LE, enc));
  }

  private bulk(tag: number, ref: BulkRef | undefined): Uint8Array {
    if (!ref) return new Uint8Array(0);
    if (!this.opts.readBulk) {
      throw new DicomFormatError(
        'LNT_INTERNAL',
        `value of ${formatTag(tag)} was not read into memory and no source was given`,
      );
    }
    return this.opts.readBulk(ref);
  }

  header(tag: number, vr: Vr, len: number, enc: Encoding): Uint8Array {
    const le = enc.littleEndian;
    const g = tag >>> 16;
    const e = tag & 0xffff;
    const long = enc.explicitVr && (hasLongLength(vr) || len > 0xffff);
    const size = !enc.explicitVr || !long ? 8 : 12;
    const h = this.scratch ? this.scratch.subarray(0, size) : new Uint8Array(size);
    const dv = this.scratchView ?? new DataView(h.buffer);
    dv.setUint16(0, g, le);
    dv.setUint16(2, e, le);
    if (!enc.explicitVr) {
      dv.setUint32(4, len, le);
      return h;
    }
    h[4] = vr.charCodeAt(0);
    h[5] = vr.charCodeAt(1);
    if (long) {
      h[6] = 0;
      h[7] = 0;
      dv.setUint32(8, len, le);
    } else dv.setUint16(6, len, le);
    return h;
  }
}

function itemHeader(len: number, enc: Encoding): Uint8Array {
  if (len === UNDEFINED_LENGTH && enc.littleEndian) return ITEM_UNDEFINED_LE;
  return itemTagHeader(Tag.Item, len, enc.littleEndian);
}

function delimiter(le: Uint8Array, enc: Encoding): Uint8Array {
  if (enc.littleEndian) return le;
  return Uint8Array.of(le[1], le[0], le[3], le[2], 0, 0, 0, 0);
}

function swapBytes(v: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(v.length);
  for (let i = 0; i + width <= v.length; i += width)
    for (let k = 0; k < width; k++) out[i + k] = v[i + width - 1 - k];
  return out;
}

export function encodingOf(ts: TransferSyntax): Encoding {
  return !ts.explicitVr ? IMPLICIT_LITTLE : ts.littleEndian ? EXPLICIT_LITTLE : EXPLICIT_BIG;
}

/** Writes a dataset's elements in the given encoding, chunk by chunk. */
export function writeDataset(ds: Dataset, enc: Encoding, sink: Sink, options: WriteOptions = {}): void {
  new Writer(enc, options).writeDataset(ds, enc, sink);
}

/** One element header (tag, VR when explicit, length; UNDEFINED_LENGTH for encapsulated or delimited). */
export function encodeElementHeader(tag: number, vr: Vr, length: number, enc: Encoding): Uint8Array {
  return new Writer(enc, {}).header(tag, vr, length, enc);
}

export function encodeDataset(ds: Dataset, enc: Encoding, options: WriteOptions = {}): Uint8Array {
  // Each chunk copied as it comes into one growing buffer, so headers need no allocation of their own.
  let out = Buffer.allocUnsafe(1024);
  let n = 0;
  new Writer(enc, options, true).writeDataset(ds, enc, (c) => {
    if (n + c.length > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, n + c.length));
      bigger.set(out.subarray(0, n));
      out = bigger;
    }
    out.set(c, n);
    n += c.length;
  });
  return out.subarray(0, n);
}

/** Byte length of the dataset when written in the given encoding. */
export function encodedLength(ds: Dataset, enc: Encoding): number {
  return new Writer(enc, {}).datasetSize(ds, enc);
}

/** Writes the file meta information: group length recomputed unless the group is exactly as read. */
export function writeMeta(meta: Dataset, sink: Sink): void {
  const w = new Writer(EXPLICIT_LITTLE, {});
  const rest = meta.without(Tag.FileMetaInformationGroupLength);
  const len = w.datasetSize(rest, EXPLICIT_LITTLE);
  const gl = meta.get(Tag.FileMetaInformationGroupLength);
  if (!gl && meta.elements.every((e) => e.header)) {
    // Read without a group length and unchanged: written back as it was.
    writeDataset(meta, EXPLICIT_LITTLE, sink);
    return;
  }
  const current =
    gl?.value && gl.value.length === 4
      ? new DataView(gl.value.buffer, gl.value.byteOffset, 4).getUint32(0, true)
      : -1;
  if (gl && current === len) {
    writeDataset(meta, EXPLICIT_LITTLE, sink);
    return;
  }
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, len, true);
  writeDataset(
    rest.with({ tag: Tag.FileMetaInformationGroupLength, vr: 'UL', length: 4, value: v }),
    EXPLICIT_LITTLE,
    sink,
  );
}

export interface Part10Input {
  preamble?: Uint8Array;
  meta: Dataset;
  dataset: Dataset;
  /** The parse this file came from: an unchanged deflated dataset is written back as it was compressed. */
  source?: ParseResult;
  /** The dataset's transfer syntax when the meta header does not name one. */
  transferSyntax?: TransferSyntax;
}

/** Preamble (zeros unless given), "DICM" and the meta header: everything of a file before its dataset. */
export function encodeFileHeader(meta: Dataset, preamble?: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [preamble ?? new Uint8Array(128), Uint8Array.of(0x44, 0x49, 0x43, 0x4d)];
  writeMeta(meta, (c) => chunks.push(c));
  return Buffer.concat(chunks);
}

/** Writes a Part 10 file: preamble, "DICM", meta header, dataset in the meta header's transfer syntax. */
export function writePart10(file: Part10Input, sink: Sink, options: WriteOptions = {}): void {
  const tsEl = file.meta.get(Tag.TransferSyntaxUID);
  const uid = tsEl?.value
    ? Buffer.from(tsEl.value)
        .toString('latin1')
        .replace(/[\0 ]+$/, '')
    : '';
  const ts = uid ? lookupTransferSyntax(uid) : (file.transferSyntax ?? file.source?.transferSyntax);
  if (!ts)
    throw new DicomFormatError(
      'LNT_DICOM_UNSUPPORTED_TRANSFER_SYNTAX',
      `cannot write transfer syntax ${uid}`,
    );
  sink(file.preamble ?? new Uint8Array(128));
  sink(Uint8Array.of(0x44, 0x49, 0x43, 0x4d));
  writeMeta(file.meta, sink);
  if (ts.deflated) {
    if (file.source?.deflatedBody && file.source.dataset === file.dataset) sink(file.source.deflatedBody);
    else sink(deflateRawSync(encodeDataset(file.dataset, EXPLICIT_LITTLE, options)));
    return;
  }
  writeDataset(file.dataset, encodingOf(ts), sink, options);
}

export function encodePart10(file: Part10Input, options: WriteOptions = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  writePart10(file, (c) => chunks.push(c), options);
  return Buffer.concat(chunks);
}

/** Builds a meta header (PS3.10 7.1) for a dataset. */
export function buildMeta(fields: {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  implementationClassUid: string;
  implementationVersionName?: string;
  sourceAet?: string;
}): Dataset {
  const els: DataElement[] = [];
  const add = (tag: number, vr: Vr, value: Uint8Array) => els.push({ tag, vr, length: value.length, value });
  add(Tag.FileMetaInformationVersion, 'OB', Uint8Array.of(0, 1));
  add(Tag.MediaStorageSOPClassUID, 'UI', uidBytes(fields.sopClassUid));
  add(Tag.MediaStorageSOPInstanceUID, 'UI', uidBytes(fields.sopInstanceUid));
  add(Tag.TransferSyntaxUID, 'UI', uidBytes(fields.transferSyntaxUid));
  add(Tag.ImplementationClassUID, 'UI', uidBytes(fields.implementationClassUid));
  if (fields.implementationVersionName)
    add(Tag.ImplementationVersionName, 'SH', padded(fields.implementationVersionName, 0x20));
  if (fields.sourceAet) add(Tag.SourceApplicationEntityTitle, 'AE', padded(fields.sourceAet, 0x20));
  const ds = new Dataset(els, EXPLICIT_LITTLE);
  const len = encodedLength(ds, EXPLICIT_LITTLE);
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, len, true);
  return ds.with({ tag: Tag.FileMetaInformationGroupLength, vr: 'UL', length: 4, value: v });
}

export function uidBytes(uid: string): Uint8Array {
  return padded(uid, 0x00);
}

export function padded(s: string, pad: number): Uint8Array {
  const b = Buffer.from(s, 'latin1');
  if (b.length % 2 === 0) return new Uint8Array(b);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  out[b.length] = pad;
  return out;
}
