import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InstanceRow } from '../../../ports/archive-index.js';

/**
 * ETag and Last-Modified for a retrieval (RFC 9110 8.8): the tag hashes the stored objects' checksums with
 * what shapes the answer (path, query, Accept). True when the client's copy is current (304 sent).
 */
export function fresh(req: FastifyRequest, reply: FastifyReply, rows: readonly InstanceRow[]): boolean {
  const h = createHash('sha256');
  h.update(`${req.url}\n${req.headers.accept ?? ''}\n`);
  let latest = 0;
  for (const r of rows) {
    h.update(r.sha256);
    const t = Date.parse(r.receivedAt);
    if (t > latest) latest = t;
  }
  const etag = `"${h.digest('base64url').slice(0, 27)}"`;
  reply.header('ETag', etag);
  if (latest) reply.header('Last-Modified', new Date(latest).toUTCString());
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.split(',').some((t) => t.trim() === etag || t.trim() === '*');
  const ims = req.headers['if-modified-since'];
  if (ims && latest) {
    const since = Date.parse(ims);
    return Number.isFinite(since) && Math.floor(latest / 1000) * 1000 <= since;
  }
  return false;
}

/** 304 Not Modified, with the validators `fresh` set. */
export function notModified(reply: FastifyReply): FastifyReply {
  return reply.code(304).send();
}
