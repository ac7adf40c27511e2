import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../../core/errors.js';
import type { App } from '../../../app.js';
import type { InstanceRow } from '../../../ports/archive-index.js';
import { type PathUids, pathKeys } from './urls.js';

/** The query string of a request as sent (undecoded), without the `?`. */
export function rawQuery(req: FastifyRequest): string {
  const q = req.raw.url?.indexOf('?') ?? -1;
  return q < 0 ? '' : req.raw.url!.slice(q + 1);
}

/** The instances a retrieve path names, or 404. */
export async function instancesOf(app: App, req: FastifyRequest, p: PathUids): Promise<InstanceRow[]> {
  const rows = await app.retrieve.instances(pathKeys(p), undefined, req.actor);
  if (!rows.length) throw new NotFoundError('no stored instance matches this resource');
  return rows;
}

/**
 * The instances a retrieve path names whose stored bytes may be served (RetrieveService.servable): those an
 * integrity check found damaged are withheld, the answer then partial (206, with a Warning saying how many
 * and why); when all are, LNT_OBJECT_DAMAGED.
 */
export async function objectsOf(
  app: App,
  req: FastifyRequest,
  reply: FastifyReply,
  p: PathUids,
): Promise<InstanceRow[]> {
  const { rows, withheld } = app.retrieve.servable(await instancesOf(app, req, p));
  if (withheld) {
    reply.code(206);
    reply.header(
      'Warning',
      `299 lantern "${withheld} instance(s) not returned: damaged in storage (failed the integrity check)"`,
    );
  }
  return rows;
}
