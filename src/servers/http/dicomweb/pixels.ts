import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TransferSyntaxUid as TS } from '../../../core/dicom/transfer-syntax.js';
import { LanternError, NotFoundError, QueryError } from '../../../core/errors.js';
import type { FrameLayout } from '../../../core/imaging/frames.js';
import type { VoiFunction } from '../../../core/imaging/render.js';
import type { Viewport } from '../../../ports/image-processor.js';
import type { App } from '../../../app.js';
import type { InstanceRow } from '../../../ports/archive-index.js';
import type { RenderParams } from '../../../services/imaging.js';
import { admits, type MediaRange, parseAccept } from './accept.js';
import { closing, newBoundary, PART_TAIL, partHead } from './multipart.js';
import type { PathUids } from './urls.js';

/** Native transfer syntaxes whose pixel data bytes are those of Explicit VR Little Endian. */
const NATIVE_LE = new Set<string>([
  TS.ImplicitVRLittleEndian,
  TS.ExplicitVRLittleEndian,
  TS.DeflatedExplicitVRLittleEndian,
]);

/** Frame media types (PS3.18 Table 8.7.3-5): the transfer syntaxes each carries, its default first. */
const FRAME_TYPES: Record<string, readonly string[]> = {
  'application/octet-stream': [TS.ExplicitVRLittleEndian],
  'image/jpeg': [TS.JPEGBaseline8Bit, TS.JPEGExtended12Bit, TS.JPEGLossless, TS.JPEGLosslessSV1],
  'image/jls': [TS.JPEGLSLossless, TS.JPEGLSNearLossless],
  'image/jp2': [TS.JPEG2000Lossless, TS.JPEG2000],
  'image/jpx': [TS.JPEG2000MCLossless, TS.JPEG2000MC],
  'image/x-dicom-rle': [TS.RLELossless],
  'image/dicom-rle': [TS.RLELossless],
};

/** The media type a stored transfer syntax's frames are labelled with. */
function frameMediaType(tsUid: string): string {
  for (const [type, list] of Object.entries(FRAME_TYPES)) if (list.includes(tsUid)) return type;
  return 'application/octet-stream';
}

export interface FramePlan {
  /** Stored bytes as they are, or transcoded into `ts`. */
  readonly transcode: boolean;
  readonly ts: string;
  readonly contentType: string;
  readonly multipart: boolean;
}

/** What the transcoding service can do (TranscodeService). */
export interface FrameCodecs {
  canTranscode(from: string, to: string): boolean;
  encodableSyntaxes(): readonly string[];
}

/** What one acceptable (media type, transfer syntax) pair makes of a stored syntax, if anything. */
function planFor(
  type: string,
  ts: string | undefined,
  stored: string,
  codecs: FrameCodecs,
): { transcode: boolean; ts: string } | undefined {
  const storedLe = NATIVE_LE.has(stored) ? TS.ExplicitVRLittleEndian : stored;
  const list = FRAME_TYPES[type];
  if (!list) return undefined;
  if (ts === '*') {
    if (type === 'application/octet-stream' || list.includes(storedLe))
      return { transcode: false, ts: storedLe };
    ts = undefined;
  }
  const want = ts ?? (list.includes(storedLe) ? storedLe : list[0]);
  if (!list.includes(want)) return undefined;
  if (want === storedLe) return { transcode: false, ts: storedLe };
  if (codecs.canTranscode(stored, want)) return { transcode: true, ts: want };
  return undefined;
}

/**
 * Content negotiation for frames (PS3.18 8.7.3.5): multipart/related with a frame media type and transfer
 * syntax (`*` for as stored), or a single part when one frame is asked for. 406 when none can be made.
 */
export function negotiateFrames(
  accept: string | undefined,
  stored: string,
  count: number,
  codecs: FrameCodecs,
): FramePlan {
  for (const r of parseAccept(accept)) {
    const anything = r.type === '*/*';
    if (anything || r.type === 'multipart/related' || r.type === 'multipart/*') {
      const type = (r.params.type ?? 'application/octet-stream').toLowerCase();
      const plan = planFor(type, r.params['transfer-syntax'], stored, codecs);
      if (plan) return { ...plan, contentType: partType(plan.ts), multipart: true };
      if (anything) {
        const asStored = planFor(frameMediaType(stored), '*', stored, codecs);
        if (asStored) return { ...asStored, contentType: partType(asStored.ts), multipart: true };
      }
      continue;
    }
    if (count === 1) {
      const type = FRAME_TYPES[r.type] ? r.type : undefined;
      const plan = type && planFor(type, r.params['transfer-syntax'], stored, codecs);
      if (plan) return { ...plan, contentType: partType(plan.ts), multipart: false };
    }
  }
  throw new LanternError(
    'LNT_HTTP_NOT_ACCEPTABLE',
    `frames stored in ${stored} can be sent as stored (transfer-syntax=*) or in ${codecs.encodableSyntaxes().join(', ')}`,
  );
}

function partType(ts: string): string {
  return `${frameMediaType(ts)}; transfer-syntax=${ts}`;
}

/** "1,3,5" as frame numbers; 400 when malformed, 404 past the last frame. */
export function frameNumbers(text: string, frames: number): number[] {
  const parts = text.split(',');
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,9}$/.test(p.trim()) || Number(p) < 1) {
      throw new QueryError(`frame numbers are positive integers separated by commas, not "${text}"`);
    }
    const n = Number(p);
    if (n > frames) throw new NotFoundError(`the instance has ${frames} frame(s), not ${n}`);
    out.push(n);
  }
  if (out.length > 10000) throw new QueryError('at most 10000 frames in one request');
  return out;
}

/** WADO-RS frames: stored bytes or transcoded, one part per frame, streamed frame by frame. */
export async function sendFrames(
  app: App,
  row: InstanceRow,
  req: FastifyRequest<{ Params: PathUids & { frames: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const layout = await app.imaging.layout(row);
  const numbers = frameNumbers(req.params.frames, layout.frames.length);
  const plan = negotiateFrames(req.headers.accept, layout.transferSyntax.uid, numbers.length, app.transcode);
  const frameBytes = async (n: number): Promise<Uint8Array[]> => {
    const needsRealign = layout.pm.bitsAllocated === 1 && layout.frames[n - 1].bitOffset !== 0;
    if (plan.transcode || needsRealign) return [await app.imaging.transcodedFrame(row, layout, n, plan.ts)];
    return app.imaging.storedFrame(row, layout, n);
  };
  if (!plan.multipart) {
    const bytes = Buffer.concat(await frameBytes(numbers[0]));
    return reply.type(plan.contentType).header('Content-Length', String(bytes.length)).send(bytes);
  }
  // The first frame is read before the answer starts, so that its errors still get a status code.
  const first = await frameBytes(numbers[0]);
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < numbers.length; i++) {
      const pieces = i === 0 ? first : await frameBytes(numbers[i]);
      let size = 0;
      for (const p of pieces) size += p.length;
      yield partHead(boundary, { 'Content-Type': plan.contentType, 'Content-Length': String(size) });
      for (const p of pieces) yield p;
      yield PART_TAIL;
    }
    yield closing(boundary);
  }
  const outer = plan.contentType.split(';')[0];
  return reply
    .type(`multipart/related; type="${outer}"; boundary=${boundary}`)
    .send(Readable.from(body(), { objectMode: false }));
}

/** The rendered media type asked for: JPEG (the default) or PNG; 406 for anything else. */
export function renderedType(accept: string | undefined): { format: 'jpeg' | 'png'; multipart: boolean } {
  for (const r of parseAccept(accept)) {
    const multipart = r.type === 'multipart/related';
    const range: MediaRange = multipart
      ? { type: (r.params.type ?? 'image/jpeg').toLowerCase(), params: {}, q: 1 }
      : r;
    if (admits(range, 'image/jpeg')) return { format: 'jpeg', multipart };
    if (admits(range, 'image/png')) return { format: 'png', multipart };
  }
  throw new LanternError('LNT_HTTP_NOT_ACCEPTABLE', 'rendered images are sent as image/jpeg or image/png');
}

function numbers(text: string, name: string, min: number, max: number): number[] {
  const raw = text.split(',');
  if (raw.length < min || raw.length > max || raw.some((x) => !/^\s*[-+]?\d+(\.\d+)?\s*$/.test(x))) {
    throw new QueryError(`${name} has a malformed value "${text}"`);
  }
  return raw.map(Number);
}

/** PS3.18 8.3.5.1 rendering parameters: window, viewport, quality (others are ignored). */
export function renderParams(
  query: Map<string, string>,
  format: 'jpeg' | 'png',
  defaultViewport?: Viewport,
): RenderParams {
  let window: RenderParams['window'];
  const w = query.get('window');
  if (w !== undefined) {
    const parts = w.split(',');
    const [center, width] = numbers(parts.slice(0, 2).join(','), 'window', 2, 2);
    const fnName = (parts[2] ?? 'linear').trim().toLowerCase();
    const fns: Record<string, VoiFunction> = {
      linear: 'LINEAR',
      'linear-exact': 'LINEAR_EXACT',
      sigmoid: 'SIGMOID',
    };
    const fn = fns[fnName];
    if (!fn) throw new QueryError(`window function "${fnName}" is not linear, linear-exact or sigmoid`);
    if (width <= 0 || (fn === 'LINEAR' && width < 1))
      throw new QueryError('the window width must be positive');
    window = { center, width, fn };
  }
  let viewport = defaultViewport;
  const v = query.get('viewport');
  if (v !== undefined) {
    const n = numbers(v, 'viewport', 2, 6);
    if (n.length !== 2 && n.length !== 6) throw new QueryError('viewport is vw,vh or vw,vh,sx,sy,sw,sh');
    const [vw, vh] = n;
    if (!Number.isInteger(vw) || !Number.isInteger(vh) || vw < 1 || vh < 1 || vw > 8192 || vh > 8192) {
      throw new QueryError('the viewport is 1 to 8192 pixels each way');
    }
    const region = n.length === 6 ? { x: n[2], y: n[3], width: n[4], height: n[5] } : undefined;
    if (
      region &&
      (![region.x, region.y, region.width, region.height].every(Number.isInteger) ||
        !region.width ||
        !region.height)
    ) {
      throw new QueryError('the viewport source region is whole pixels, not empty');
    }
    viewport = { width: vw, height: vh, region };
  }
  let quality = 90;
  const q = query.get('quality');
  if (q !== undefined) {
    quality = Number(q);
    if (!Number.isInteger(quality) || quality < 1 || quality > 100)
      throw new QueryError('quality is 1 to 100');
  }
  return { format, quality, window, viewport };
}

/** Checks a viewport's source region against the frame before rendering. */
export function checkRegion(layout: FrameLayout, p: RenderParams): void {
  const r = p.viewport?.region;
  if (!r) return;
  const x0 = Math.min(r.x, r.x + r.width);
  const y0 = Math.min(r.y, r.y + r.height);
  if (
    x0 < 0 ||
    y0 < 0 ||
    x0 + Math.abs(r.width) > layout.pm.columns ||
    y0 + Math.abs(r.height) > layout.pm.rows
  ) {
    throw new QueryError(
      `the viewport source region lies outside the ${layout.pm.columns}x${layout.pm.rows} frame`,
    );
  }
}

/** Renders frames of instances and answers with one image, or a multipart/related of images. */
export async function sendRendered(
  app: App,
  reply: FastifyReply,
  targets: readonly { row: InstanceRow; frame: number }[],
  params: RenderParams,
  multipart: boolean,
): Promise<FastifyReply> {
  const type = params.format === 'png' ? 'image/png' : 'image/jpeg';
  const render = async (t: { row: InstanceRow; frame: number }): Promise<Uint8Array> => {
    checkRegion(await app.imaging.layout(t.row), params);
    return app.imaging.renderedFrame(t.row, t.frame, params);
  };
  if (targets.length === 1 && !multipart) {
    const bytes = await render(targets[0]);
    return reply.type(type).header('Content-Length', String(bytes.length)).send(Buffer.from(bytes));
  }
  const first = await render(targets[0]);
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < targets.length; i++) {
      const bytes = i === 0 ? first : await render(targets[i]);
      yield partHead(boundary, { 'Content-Type': type, 'Content-Length': String(bytes.length) });
      yield bytes;
      yield PART_TAIL;
    }
    yield closing(boundary);
  }
  return reply
    .type(`multipart/related; type="${type}"; boundary=${boundary}`)
    .send(Readable.from(body(), { objectMode: false }));
}

/** The instance (and frame) a thumbnail shows: the middle image of the selection, skipping non-images. */
export async function representative(
  app: App,
  rows: readonly InstanceRow[],
): Promise<{ row: InstanceRow; frame: number }> {
  const order = rows
    .map((_, i) => i)
    .sort((a, b) => Math.abs(a - (rows.length - 1) / 2) - Math.abs(b - (rows.length - 1) / 2));
  for (const i of order.slice(0, 64)) {
    try {
      const layout = await app.imaging.layout(rows[i]);
      return { row: rows[i], frame: Math.ceil(layout.frames.length / 2) };
    } catch (e) {
      if (!(e instanceof LanternError && e.code === 'LNT_IMAGE_UNSUPPORTED')) throw e;
    }
  }
  throw new LanternError('LNT_IMAGE_UNSUPPORTED', 'nothing here has pixel data to show');
}
