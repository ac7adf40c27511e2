import { Tag } from '../core/dicom/dictionary.js';
import { DicomParser } from '../core/dicom/parser.js';
import { lookupTransferSyntax } from '../core/dicom/transfer-syntax.js';
import { LanternError, NotFoundError } from '../core/errors.js';
import { type FrameLayout, frameLayout, type Piece } from '../core/imaging/frames.js';
import { pixelModule } from '../core/imaging/pixel-module.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ImageProcessor, RenderTask } from '../ports/image-processor.js';
import type { InstanceRow } from '../ports/archive-index.js';

/** Values of bulk VRs up to this size stay in memory when a header is read (palette tables fit). */
const HEADER_BULK_THRESHOLD = 256 * 1024;
/** A frame larger than this is not read into memory for decoding or rendering. */
const MAX_FRAME_BYTES = 512 * 1024 * 1024;

/** A small least-recently-used map. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(
    private readonly max: number,
    private readonly weight: (v: V) => number = () => 1,
  ) {}
  private total = 0;
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    const old = this.map.get(k);
    if (old !== undefined) this.total -= this.weight(old);
    this.map.delete(k);
    this.map.set(k, v);
    this.total += this.weight(v);
    while (this.total > this.max && this.map.size > 1) {
      const [first, fv] = this.map.entries().next().value as [string, V];
      this.map.delete(first);
      this.total -= this.weight(fv);
    }
  }
}

export type RenderParams = Pick<RenderTask, 'format' | 'quality' | 'window' | 'viewport'>;

/**
 * Frames of stored images: where they are (layouts cached per object), their bytes as stored, and decoded,
 * transcoded or rendered ones through the image pool (rendered results cached by object, frame and
 * parameters).
 */
export class ImagingService {
  private readonly layouts = new Lru<FrameLayout>(256);
  private readonly rendered = new Lru<Uint8Array>(64 * 1024 * 1024, (b) => b.length);

  constructor(
    private readonly blobs: BlobStore,
    readonly pool: ImageProcessor,
  ) {}

  private async readPiece(row: InstanceRow, p: Piece, n?: number): Promise<Uint8Array> {
    if ('bytes' in p) return n === undefined ? p.bytes : p.bytes.subarray(0, n);
    const length = n === undefined ? p.length : Math.min(n, p.length);
    const chunks: Uint8Array[] = [];
    let got = 0;
    for await (const c of this.blobs.read(row.blobKey, { start: p.offset, end: p.offset + length })) {
      chunks.push(c);
      got += c.length;
    }
    if (got < length)
      throw new LanternError('LNT_IMAGE_INVALID', 'the stored object ends inside its pixel data');
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, got);
  }

  /** Where the frames of a stored object are (read once per object, then cached). */
  async layout(row: InstanceRow): Promise<FrameLayout> {
    const cached = this.layouts.get(row.blobKey);
    if (cached) return cached;
    const ts = lookupTransferSyntax(row.transferSyntaxUid);
    // Deflated objects cannot be read at offsets: their values are kept in memory instead.
    const inPlace = !ts?.deflated;
    const parser = new DicomParser(
      inPlace
        ? { bulkDataThreshold: HEADER_BULK_THRESHOLD, bulkFragments: true }
        : { maxValueLength: MAX_FRAME_BYTES },
    );
    let early = false;
    for await (const chunk of this.blobs.read(row.blobKey)) {
      parser.push(chunk);
      // Native pixel data is passed over once its header is read; fragments need the whole object.
      if (inPlace && !ts?.encapsulated && parser.lastTopLevelTag >= Tag.PixelData) {
        early = true;
        break;
      }
    }
    const ds = early ? parser.peekTopLevel() : parser.end().dataset;
    const pm = pixelModule(ds);
    const tsx = ts ?? lookupTransferSyntax('1.2.840.10008.1.2.1')!;
    const layout = await frameLayout(ds, pm, tsx, (p, n) => this.readPiece(row, p, n));
    this.layouts.set(row.blobKey, layout);
    return layout;
  }

  /** A frame's bytes as stored (1-based number). */
  async storedFrame(row: InstanceRow, layout: FrameLayout, frame: number): Promise<Uint8Array[]> {
    const f = layout.frames[frame - 1];
    if (!f) throw new NotFoundError(`the instance has ${layout.frames.length} frame(s), not ${frame}`);
    let size = 0;
    for (const p of f.pieces) size += 'bytes' in p ? p.bytes.length : p.length;
    if (size > MAX_FRAME_BYTES)
      throw new LanternError('LNT_IMAGE_INVALID', 'the frame is too large to process');
    const out: Uint8Array[] = [];
    for (const p of f.pieces) out.push(await this.readPiece(row, p));
    return out;
  }

  /** A frame decoded and encoded in `target` (Explicit VR Little Endian for native pixels). */
  async transcodedFrame(
    row: InstanceRow,
    layout: FrameLayout,
    frame: number,
    target: string,
  ): Promise<Uint8Array> {
    const pieces = await this.storedFrame(row, layout, frame);
    return this.pool.run({
      op: 'transcode',
      transferSyntaxUid: layout.transferSyntax.uid,
      pm: layout.pm,
      pieces,
      bitOffset: layout.frames[frame - 1].bitOffset,
      target,
    });
  }

  /** A frame rendered as JPEG or PNG. */
  async renderedFrame(row: InstanceRow, frame: number, params: RenderParams): Promise<Uint8Array> {
    const key = `${row.sha256}/${frame}/${JSON.stringify(params)}`;
    const hit = this.rendered.get(key);
    if (hit) return hit;
    const layout = await this.layout(row);
    const pieces = await this.storedFrame(row, layout, frame);
    const out = await this.pool.run({
      op: 'render',
      transferSyntaxUid: layout.transferSyntax.uid,
      pm: layout.pm,
      pieces,
      bitOffset: layout.frames[frame - 1].bitOffset,
      ...params,
    });
    this.rendered.set(key, out);
    return out;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
