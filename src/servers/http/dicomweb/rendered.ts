import type { FastifyReply, FastifyRequest } from 'fastify';
import { LanternError } from '../../../core/errors.js';
import type { App } from '../../../app.js';
import type { InstanceRow } from '../../../ports/archive-index.js';
import { partyOf } from './audit.js';
import { fresh, notModified } from './conditional.js';
import {
  frameNumbers,
  renderedType,
  renderParams,
  representative,
  sendFrames,
  sendRendered,
} from './pixels.js';
import { queryPairs } from './qido.js';
import { objectsOf, rawQuery } from './request.js';
import type { PathUids } from './urls.js';

export type FrameParams = PathUids & { frames: string };

/** WADO-RS frames (PS3.18 10.4.1.1.4). */
export async function frames(
  app: App,
  req: FastifyRequest<{ Params: FrameParams }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const [row] = await objectsOf(app, req, reply, req.params);
  if (fresh(req, reply, [row])) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), [row], 'accessed');
  return sendFrames(app, row, req, reply);
}

/**
 * Rendered resources (PS3.18 10.4.1.1.5): an instance (its first frame), frames, or a series or study (the
 * first frame of each instance, multipart). Thumbnails (10.4.1.1.6) show the middle image of the selection,
 * 128 pixels on the longer side unless a viewport is given.
 */
export async function rendered(
  app: App,
  req: FastifyRequest<{ Params: PathUids & { frames?: string } }>,
  reply: FastifyReply,
  kind: 'rendered' | 'thumbnail',
): Promise<FastifyReply> {
  const rows = await objectsOf(app, req, reply, req.params);
  const type = renderedType(req.headers.accept);
  const query = new Map(queryPairs(rawQuery(req)));
  const params = renderParams(
    query,
    type.format,
    kind === 'thumbnail' ? { width: 128, height: 128 } : undefined,
  );
  if (fresh(req, reply, rows)) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), rows, 'accessed');
  if (kind === 'thumbnail') {
    if (req.params.frames) {
      const layout = await app.imaging.layout(rows[0]);
      const [frame] = frameNumbers(req.params.frames, layout.frames.length);
      return sendRendered(app, reply, [{ row: rows[0], frame }], params, false);
    }
    return sendRendered(app, reply, [await representative(app, rows)], params, false);
  }
  if (req.params.frames) {
    const layout = await app.imaging.layout(rows[0]);
    const list = frameNumbers(req.params.frames, layout.frames.length);
    return sendRendered(
      app,
      reply,
      list.map((frame) => ({ row: rows[0], frame })),
      params,
      type.multipart || list.length > 1,
    );
  }
  if (req.params.instance)
    return sendRendered(app, reply, [{ row: rows[0], frame: 1 }], params, type.multipart);
  const images: InstanceRow[] = [];
  for (const row of rows) {
    try {
      await app.imaging.layout(row);
      images.push(row);
    } catch (e) {
      if (!(e instanceof LanternError && e.code === 'LNT_IMAGE_UNSUPPORTED')) throw e;
    }
  }
  if (!images.length)
    throw new LanternError('LNT_IMAGE_UNSUPPORTED', 'nothing here has pixel data to render');
  return sendRendered(
    app,
    reply,
    images.map((row) => ({ row, frame: 1 })),
    params,
    true,
  );
}
