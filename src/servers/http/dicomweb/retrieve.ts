import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Tag } from '../../../core/dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../../../core/dicom/json.js';
import { isBulkVr, type Vr } from '../../../core/dicom/vr.js';
import { LanternError, NotFoundError, QueryError } from '../../../core/errors.js';
import type { App } from '../../../app.js';
import type { InstanceRow } from '../../../ports/archive-index.js';
import { admits, parseAccept } from './accept.js';
import { partyOf } from './audit.js';
import { fresh, notModified } from './conditional.js';
import { firstString, negotiateDatasets, sendDatasets } from './datasets.js';
import { closing, newBoundary, PART_TAIL, partHead } from './multipart.js';
import { instancesOf, objectsOf } from './request.js';
import { DirectBody } from '../direct-body.js';
import { BufferPool } from '../../../core/buffers/pool.js';

import { baseUrl, type PathUids, pathKeys, resourceUrl } from './urls.js';

/** Read buffers of whole-object retrieval, reused once a response has sent them. */
const readBuffers = new BufferPool();

/**
 * What a retrieve request accepts, instance by instance: multipart/related application/dicom parts in the
 * stored transfer syntax (`transfer-syntax=*`, or none named, as stored) or in a named one the object can be
 * converted to (the first acceptable in the client's order). Returns each instance's target syntax ('' for
 * as stored); 406 when one cannot be sent in anything acceptable.
 */
export function negotiateDicom(app: App, accept: string | undefined, rows: readonly InstanceRow[]): string[] {
  const wanted: (string | undefined)[] = [];
  for (const r of parseAccept(accept)) {
    const multipart = r.type === 'multipart/related' || r.type === '*/*' || r.type === 'multipart/*';
    const type = (r.params.type ?? 'application/dicom').toLowerCase();
    if (multipart && type === 'application/dicom') wanted.push(r.params['transfer-syntax']);
  }
  return rows.map((row) => {
    for (const ts of wanted) {
      if (!ts || ts === '*' || ts === row.transferSyntaxUid) return '';
      if (app.transcode.canTranscode(row.transferSyntaxUid, ts)) return ts;
    }
    throw new LanternError(
      'LNT_HTTP_NOT_ACCEPTABLE',
      `an object stored in ${row.transferSyntaxUid} cannot be sent in any transfer syntax this request accepts`,
    );
  });
}

/**
 * WADO-RS (PS3.18 10.4): a study, series or instance, one part per instance, streamed: as stored, or
 * converted to the transfer syntax asked for.
 */
export async function retrieve(
  app: App,
  req: FastifyRequest<{ Params: PathUids }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const rows = await objectsOf(app, req, reply, req.params);
  const targets = negotiateDicom(app, req.headers.accept, rows);
  if (fresh(req, reply, rows)) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), rows, 'transferred');
  // The first object is prepared before the answer starts, so that its errors still get a status code.
  const first = targets[0] ? await app.transcode.object(rows[0], targets[0]) : undefined;
  const boundary = newBoundary();
  const heads = rows.map((row, i) => {
    const ts = targets[i] || row.transferSyntaxUid;
    const converted = targets[i] ? (i === 0 ? first : undefined) : undefined;
    const headers: Record<string, string> = { 'Content-Type': `application/dicom; transfer-syntax=${ts}` };
    const length = targets[i] ? converted?.length : row.size;
    if (length !== undefined) headers['Content-Length'] = String(length);
    return headers;
  });
  const tail = closing(boundary);
  // Objects sent as stored have known sizes: the whole answer then has a length, and goes without chunked
  // framing.
  if (targets.every((t) => !t) && rows.every((r) => r.size !== undefined)) {
    let total = tail.length;
    for (let i = 0; i < rows.length; i++) total += partHead(boundary, heads[i]).length + rows[i].size! + 2;
    reply.header('Content-Length', String(total));
  }
  async function* body(): AsyncGenerator<Uint8Array> {
    let i = 0;
    for await (const stored of app.retrieve.storedObjects(
      rows.map((r, j) => (targets[j] ? undefined : r)),
      readBuffers,
    )) {
      const row = rows[i];
      const converted = stored ? undefined : i === 0 ? first! : await app.transcode.object(row, targets[i]);
      if (converted && heads[i]['Content-Length'] === undefined && converted.length !== undefined)
        heads[i]['Content-Length'] = String(converted.length);
      yield partHead(boundary, heads[i]);
      let sent = 0;
      for await (const chunk of converted ? converted.body : stored!) {
        sent += chunk.length;
        yield chunk;
      }
      // A stored object whose size is not the index's would break the framing announced: the answer is cut
      // (the client sees an incomplete body) instead of carrying wrong bytes.
      if (stored && row.size !== undefined && sent !== row.size)
        throw new LanternError(
          'LNT_INTERNAL',
          `stored object ${row.sopInstanceUid} is not the size recorded`,
        );
      yield PART_TAIL;
      i++;
    }
    yield tail;
  }
  return reply
    .type(`multipart/related; type="application/dicom"; boundary=${boundary}`)
    .send(new DirectBody(body(), (chunk) => readBuffers.give(chunk)));
}

/** Adds BulkDataURIs for the bulk values the index leaves out (top level: they can be fetched one by one). */
export function withBulkUris(ds: JsonDataset, instanceUrl: string): JsonDataset {
  const out: JsonDataset = {};
  for (const [k, a] of Object.entries(ds)) {
    const attr = a as JsonAttribute;
    if (isBulkVr(attr.vr as Vr) && attr.Value === undefined && attr.InlineBinary === undefined) {
      out[k] = { vr: attr.vr, BulkDataURI: `${instanceUrl}/bulk/${k}` };
    } else out[k] = attr;
  }
  return out;
}

/** WADO-RS metadata (PS3.18 10.4.1.1.2): every instance's attributes as DICOM JSON. */
export async function metadata(
  app: App,
  req: FastifyRequest<{ Params: PathUids }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const keys = pathKeys(req.params);
  const form = negotiateDatasets(req);
  const metaRows = await instancesOf(app, req, req.params);
  if (fresh(req, reply, metaRows)) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), metaRows, 'accessed');
  const base = baseUrl(app, req);
  const out: JsonDataset[] = [];
  for await (const ds of app.query.queryAll({ level: 'IMAGE', keys, includeAll: true, actor: req.actor })) {
    const study = firstString(ds, Tag.StudyInstanceUID) ?? '';
    const series = firstString(ds, Tag.SeriesInstanceUID) ?? '';
    const instance = firstString(ds, Tag.SOPInstanceUID) ?? '';
    out.push(withBulkUris(ds, resourceUrl(base, study, series, instance)));
  }
  if (!out.length) throw new NotFoundError('no stored instance matches this resource');
  return sendDatasets(reply, form, out);
}

/** A single `bytes=a-b` range of an object of `size` bytes (RFC 9110 14.2); undefined for none or several. */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || start >= end) {
    throw new LanternError('LNT_HTTP_RANGE', `range ${header} is outside the ${size}-byte value`);
  }
  return { start, end };
}

/**
 * WADO-RS bulk data (PS3.18 10.4.1.1.3): one top-level attribute's value, as application/octet-stream (with
 * byte ranges) or as a one-part multipart/related response.
 */
export async function bulk(
  app: App,
  req: FastifyRequest<{ Params: PathUids & { tag: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const [row] = await objectsOf(app, req, reply, req.params);
  if (!/^[0-9A-Fa-f]{8}$/.test(req.params.tag)) throw new QueryError('bulk data is named by its 8-digit tag');
  if (fresh(req, reply, [row])) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), [row], 'accessed');
  const where = await app.retrieve.locateValue(row, parseInt(req.params.tag, 16) >>> 0);
  if (!where) throw new NotFoundError('the instance has no such attribute value');
  if (where === 'encapsulated') {
    throw new LanternError(
      'LNT_HTTP_NOT_ACCEPTABLE',
      'compressed pixel data is not offered as bulk data; retrieve the instance instead',
    );
  }
  const size = 'bytes' in where ? where.bytes.length : where.length;
  const ranges = parseAccept(req.headers.accept);
  const single = ranges.find((r) => r.type === 'application/octet-stream');
  const multi = ranges.find((r) => r.type === 'multipart/related' || admits(r, 'multipart/related'));
  if (!single && !multi) {
    throw new LanternError('LNT_HTTP_NOT_ACCEPTABLE', 'bulk data is sent as application/octet-stream');
  }
  const content = (start: number, end: number): AsyncIterable<Uint8Array> | Uint8Array =>
    'bytes' in where
      ? where.bytes.subarray(start, end)
      : app.retrieve.objectStream(row, { start: where.offset + start, end: where.offset + end });
  if (single && (!multi || ranges.indexOf(single) <= ranges.indexOf(multi))) {
    reply.header('Accept-Ranges', 'bytes');
    // An unsatisfiable range is answered with the value's length (RFC 9110 15.5.17).
    const range = (() => {
      try {
        return byteRange(req.headers.range, size);
      } catch (e) {
        reply.header('Content-Range', `bytes */${size}`);
        throw e;
      }
    })();
    reply.type('application/octet-stream');
    const { start, end } = range ?? { start: 0, end: size };
    if (range) reply.code(206).header('Content-Range', `bytes ${start}-${end - 1}/${size}`);
    reply.header('Content-Length', String(end - start));
    const c = content(start, end);
    return reply.send(c instanceof Uint8Array ? Buffer.from(c) : Readable.from(c));
  }
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    yield partHead(boundary, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
    const c = content(0, size);
    if (c instanceof Uint8Array) yield c;
    else for await (const chunk of c) yield chunk;
    yield PART_TAIL;
    yield closing(boundary);
  }
  return reply
    .type(`multipart/related; type="application/octet-stream"; boundary=${boundary}`)
    .send(Readable.from(body(), { objectMode: false }));
}
