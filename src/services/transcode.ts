import {
  type BulkRef,
  type DataElement,
  Dataset,
  EXPLICIT_LITTLE,
  UNDEFINED_LENGTH,
} from '../core/dicom/dataset.js';
import { Tag } from '../core/dicom/dictionary.js';
import { stringElement } from '../core/dicom/encode.js';
import { DicomParser } from '../core/dicom/parser.js';
import { lookupTransferSyntax, TransferSyntaxUid as TS } from '../core/dicom/transfer-syntax.js';
import {
  buildMeta,
  encodeDataset,
  encodeElementHeader,
  encodeFileHeader,
  encodingOf,
  itemTagHeader,
} from '../core/dicom/writer.js';
import { LanternError } from '../core/errors.js';
import { nativeFrameBits } from '../core/imaging/pixel-module.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { InstanceRow } from '../ports/archive-index.js';
import type { ImagingService } from './imaging.js';

/** An object re-encoded for sending: its length when known ahead (native pixel data), and its bytes. */
export interface TranscodedObject {
  readonly length: number | undefined;
  readonly body: AsyncIterable<Uint8Array>;
}

/** What this server decodes and encodes (the codec sets, given by the composition root). */
export interface CodecSets {
  readonly decodable: ReadonlySet<string>;
  readonly encodable: ReadonlySet<string>;
}

const NATIVE_TARGETS = new Set<string>([TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian]);
const SEQ_DELIM = itemTagHeader(Tag.SequenceDelimitationItem, 0);

function itemHeader(length: number): Uint8Array {
  return itemTagHeader(Tag.Item, length);
}

function bulkRefs(ds: Dataset, out: BulkRef[], top: boolean): void {
  for (const el of ds.elements) {
    if (top && el.tag === Tag.PixelData) continue;
    if (el.bulk) out.push(el.bulk);
    for (const f of el.fragments ?? []) if (f.bulk) out.push(f.bulk);
    for (const it of el.items ?? []) bulkRefs(it.dataset, out, false);
  }
}

/**
 * Whole objects in another transfer syntax (WADO-RS and WADO-URI when a client asks for one): the data set
 * re-encoded (Explicit or Implicit VR Little Endian, or Explicit for the compressed syntaxes), pixel data
 * copied, decoded or re-encoded frame by frame through the image pool and streamed, never whole in memory.
 */
export class TranscodeService {
  constructor(
    private readonly blobs: BlobStore,
    private readonly imaging: ImagingService,
    private readonly codecs: CodecSets,
    private readonly implementation: { classUid: string; versionName: string },
  ) {}

  /** Whether an object stored in `from` may be sent in `to` (its pixel data decoded or encoded as needed). */
  /** The transfer syntaxes frames can be encoded in (compressed or not). */
  encodableSyntaxes(): readonly string[] {
    return [...this.codecs.encodable];
  }

  canTranscode(from: string, to: string): boolean {
    const src = lookupTransferSyntax(from);
    const dst = lookupTransferSyntax(to);
    if (!src || !dst || dst.deflated || !dst.littleEndian) return false;
    if (from === to) return true;
    if (NATIVE_TARGETS.has(to)) return !src.encapsulated || this.codecs.decodable.has(from);
    return this.codecs.encodable.has(to) && this.codecs.decodable.has(from);
  }

  private async read(row: InstanceRow, ref: BulkRef): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const c of this.blobs.read(row.blobKey, { start: ref.offset, end: ref.offset + ref.length })) {
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  /** The object in transfer syntax `to`; errors (no decoder, bad pixel data) come before any byte is sent. */
  async object(row: InstanceRow, to: string): Promise<TranscodedObject> {
    const dst = lookupTransferSyntax(to);
    if (!dst || !this.canTranscode(row.transferSyntaxUid, to)) {
      throw new LanternError(
        'LNT_HTTP_NOT_ACCEPTABLE',
        `objects stored in ${row.transferSyntaxUid} cannot be sent in ${to}`,
      );
    }
    const src = lookupTransferSyntax(row.transferSyntaxUid)!;
    const parser = new DicomParser(src.deflated ? {} : { bulkDataThreshold: 64 * 1024, bulkFragments: true });
    for await (const chunk of this.blobs.read(row.blobKey)) parser.push(chunk);
    let ds = parser.end().dataset;
    const pixel = ds.get(Tag.PixelData);
    const outEnc = encodingOf(dst);
    const sameNativeBytes = !src.encapsulated && !dst.encapsulated && src.littleEndian;
    const reencode = pixel !== undefined && !sameNativeBytes;
    let firstFrame: Uint8Array | undefined;
    const layout = reencode ? await this.imaging.layout(row) : undefined;
    if (layout) {
      if (layout.pm.bitsAllocated === 1) {
        throw new LanternError(
          'LNT_HTTP_NOT_ACCEPTABLE',
          'one-bit pixel data is sent in its stored syntax only',
        );
      }
      // The first frame is converted now, so that an undecodable object is refused before anything is sent.
      firstFrame = await this.imaging.transcodedFrame(
        row,
        layout,
        1,
        dst.encapsulated ? to : TS.ExplicitVRLittleEndian,
      );
      const pm = layout.pm;
      const edits: DataElement[] = [];
      const colourJpeg =
        pm.samplesPerPixel === 3 && (src.uid === TS.JPEGBaseline8Bit || src.uid === TS.JPEGExtended12Bit);
      const colourJ2k = pm.photometric === 'YBR_RCT' || pm.photometric === 'YBR_ICT';
      if (src.encapsulated && (colourJpeg || colourJ2k)) {
        edits.push(stringElement(Tag.PhotometricInterpretation, 'CS', ['RGB']));
      }
      if (pm.samplesPerPixel === 3 && src.encapsulated)
        edits.push({ tag: Tag.PlanarConfiguration, vr: 'US', length: 2, value: Uint8Array.of(0, 0) });
      if (to === TS.JPEGBaseline8Bit) {
        edits.push(stringElement(Tag.LossyImageCompression, 'CS', ['01']));
        edits.push(stringElement(Tag.LossyImageCompressionMethod, 'CS', ['ISO_10918_1']));
      }
      for (const e of edits) ds = ds.with(e);
      ds = ds.without(Tag.ExtendedOffsetTable).without(Tag.ExtendedOffsetTableLengths);
    }
    const before = new Dataset(
      ds.elements.filter((e) => e.tag < Tag.PixelData),
      ds.encoding,
    );
    const after = new Dataset(
      ds.elements.filter((e) => e.tag > Tag.PixelData),
      ds.encoding,
    );
    const refs: BulkRef[] = [];
    bulkRefs(ds, refs, true);
    const bulk = new Map<number, Uint8Array>();
    for (const ref of refs) bulk.set(ref.offset, await this.read(row, ref));
    const readBulk = (ref: BulkRef) => bulk.get(ref.offset)!;
    const meta = buildMeta({
      sopClassUid: row.sopClassUid,
      sopInstanceUid: row.sopInstanceUid,
      transferSyntaxUid: to,
      implementationClassUid: this.implementation.classUid,
      implementationVersionName: this.implementation.versionName,
    });
    const head = Buffer.concat([encodeFileHeader(meta), encodeDataset(before, outEnc, { readBulk })]);
    const tail = encodeDataset(after, outEnc, { readBulk });
    if (!pixel)
      return {
        length: head.length + tail.length,
        body: (async function* () {
          yield head;
          yield tail;
        })(),
      };

    const imaging = this.imaging;
    if (!layout) {
      // Native little-endian pixel data in a native target: the same bytes, straight from storage.
      const bytes = pixel.value;
      const ref = pixel.bulk;
      const n = bytes ? bytes.length : ref!.length;
      const pixelHead = encodeElementHeader(Tag.PixelData, pixel.vr, n, outEnc);
      const blobs = this.blobs;
      return {
        length: head.length + pixelHead.length + n + tail.length,
        body: (async function* () {
          yield head;
          yield pixelHead;
          if (bytes) yield bytes;
          else yield* blobs.read(row.blobKey, { start: ref!.offset, end: ref!.offset + ref!.length });
          yield tail;
        })(),
      };
    }
    const frames = layout.frames.length;
    if (!dst.encapsulated) {
      const frameBytes = nativeFrameBits(layout.pm) / 8;
      const total = frameBytes * frames;
      const pad = total % 2;
      const pixelHead = encodeElementHeader(
        Tag.PixelData,
        layout.pm.bitsAllocated > 8 ? 'OW' : 'OB',
        total + pad,
        outEnc,
      );
      return {
        length: head.length + pixelHead.length + total + pad + tail.length,
        body: (async function* () {
          yield head;
          yield pixelHead;
          for (let f = 1; f <= frames; f++) {
            const b =
              f === 1
                ? firstFrame!
                : await imaging.transcodedFrame(row, layout, f, TS.ExplicitVRLittleEndian);
            if (b.length !== frameBytes) {
              throw new LanternError(
                'LNT_IMAGE_INVALID',
                `frame ${f} decoded to ${b.length} bytes, ${frameBytes} expected`,
              );
            }
            yield b;
          }
          if (pad) yield new Uint8Array(1);
          yield tail;
        })(),
      };
    }
    const pixelHead = encodeElementHeader(Tag.PixelData, 'OB', UNDEFINED_LENGTH, EXPLICIT_LITTLE);
    return {
      length: undefined,
      body: (async function* () {
        yield head;
        yield pixelHead;
        yield itemHeader(0); // an empty Basic Offset Table
        for (let f = 1; f <= frames; f++) {
          const b = f === 1 ? firstFrame! : await imaging.transcodedFrame(row, layout, f, to);
          const pad = b.length % 2;
          yield itemHeader(b.length + pad);
          yield b;
          if (pad) yield new Uint8Array(1);
        }
        yield SEQ_DELIM;
        yield tail;
      })(),
    };
  }
}
