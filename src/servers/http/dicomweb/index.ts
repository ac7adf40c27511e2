import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Tag, tagHex } from '../../../core/dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../../../core/dicom/json.js';
import { isBulkVr, type Vr } from '../../../core/dicom/vr.js';
import { LanternError, NotFoundError, QueryError } from '../../../core/errors.js';
import type { QueryLevel } from '../../../core/query/levels.js';
import type { App } from '../../../main.js';
import type { InstanceRow } from '../../../ports/index.js';
import { acceptsJson, admits, parseAccept } from './accept.js';
import { closing, newBoundary, PART_TAIL, partHead } from './multipart.js';
import { parseQido, qidoRequest, queryPairs } from './qido.js';
import { stow } from './stow.js';
import { baseUrl, type PathUids, pathKeys, resourceUrl } from './urls.js';

const DICOM_JSON = 'application/dicom+json';
type Params = PathUids;

function rawQuery(req: FastifyRequest): string {
  const q = req.raw.url?.indexOf('?') ?? -1;
  return q < 0 ? '' : req.raw.url!.slice(q + 1);
}

/** Refuses a request whose Accept header admits no JSON (406). */
function negotiateJson(req: FastifyRequest): void {
  if (!acceptsJson(req.headers.accept))
    throw new LanternError('LNT_HTTP_NOT_ACCEPTABLE', `this resource answers in ${DICOM_JSON}`);
}

function firstString(ds: JsonDataset, tag: number): string | undefined {
  const v = ds[tagHex(tag)]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
}

/** QIDO-RS (PS3.18 10.6): the six search resources. */
async function search(
  app: App,
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
  level: QueryLevel,
): Promise<FastifyReply> {
  pathKeys(req.params);
  negotiateJson(req);
  const params = parseQido(queryPairs(rawQuery(req)));
  const request = qidoRequest(level, params, req.params);
  const base = baseUrl(app, req);
  const results: JsonDataset[] = [];
  let more = false;
  for await (const r of app.query.queryWithMore({ ...request, retrieveAeTitle: app.config.dicom.aeTitle })) {
    if ('more' in r) {
      more = true;
      break;
    }
    const study = firstString(r, Tag.StudyInstanceUID);
    if (study && level !== 'PATIENT') {
      const series = level === 'STUDY' ? undefined : firstString(r, Tag.SeriesInstanceUID);
      const instance = level === 'IMAGE' ? firstString(r, Tag.SOPInstanceUID) : undefined;
      r[tagHex(Tag.RetrieveURL)] = { vr: 'UR', Value: [resourceUrl(base, study, series, instance)] };
    }
    results.push(r);
  }
  if (more) {
    // PS3.18 8.3.4.4.1: the response is complete up to the limit; the client may ask for the rest.
    reply.header(
      'Warning',
      '299 lantern "The number of results exceeded the maximum supported by the server. Additional results can be requested."',
    );
  }
  return reply.type(DICOM_JSON).send(results);
}

/** The instances a retrieve path names, or 404. */
async function instancesOf(app: App, p: Params): Promise<InstanceRow[]> {
  const rows = await app.retrieve.instances(pathKeys(p));
  if (!rows.length) throw new NotFoundError('no stored instance matches this resource');
  return rows;
}

/**
 * What a retrieve request accepts: a multipart/related response of application/dicom parts, in the stored
 * transfer syntax (`transfer-syntax=*`, or none named) or in one named syntax (only instances already in it
 * can be sent as they are; other conversions are refused with 406).
 */
function negotiateDicom(req: FastifyRequest, rows: readonly InstanceRow[]): void {
  for (const r of parseAccept(req.headers.accept)) {
    const multipart = r.type === 'multipart/related' || r.type === '*/*' || r.type === 'multipart/*';
    if (!multipart) continue;
    const type = (r.params.type ?? 'application/dicom').toLowerCase();
    if (type !== 'application/dicom') continue;
    const ts = r.params['transfer-syntax'];
    if (!ts || ts === '*' || rows.every((row) => row.transferSyntaxUid === ts)) return;
  }
  throw new LanternError(
    'LNT_HTTP_NOT_ACCEPTABLE',
    'objects are sent as multipart/related; type="application/dicom" in their stored transfer syntax (transfer-syntax=*)',
  );
}

/** WADO-RS (PS3.18 10.4): a study, series or instance as stored, one part per instance, streamed. */
async function retrieve(
  app: App,
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const rows = await instancesOf(app, req.params);
  negotiateDicom(req, rows);
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const row of rows) {
      yield partHead(boundary, {
        'Content-Type': `application/dicom; transfer-syntax=${row.transferSyntaxUid}`,
        'Content-Length': String(row.size),
      });
      for await (const chunk of app.retrieve.objectStream(row)) yield chunk;
      yield PART_TAIL;
    }
    yield closing(boundary);
  }
  return reply
    .type(`multipart/related; type="application/dicom"; boundary=${boundary}`)
    .send(Readable.from(body(), { objectMode: false }));
}

/** Adds BulkDataURIs for the bulk values the index leaves out (top level: they can be fetched one by one). */
function withBulkUris(ds: JsonDataset, instanceUrl: string): JsonDataset {
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
async function metadata(
  app: App,
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const keys = pathKeys(req.params);
  negotiateJson(req);
  const base = baseUrl(app, req);
  const out: JsonDataset[] = [];
  for await (const ds of app.query.queryAll({ level: 'IMAGE', keys, includeAll: true })) {
    const study = firstString(ds, Tag.StudyInstanceUID) ?? '';
    const series = firstString(ds, Tag.SeriesInstanceUID) ?? '';
    const instance = firstString(ds, Tag.SOPInstanceUID) ?? '';
    out.push(withBulkUris(ds, resourceUrl(base, study, series, instance)));
  }
  if (!out.length) throw new NotFoundError('no stored instance matches this resource');
  return reply.type(DICOM_JSON).send(out);
}

/** A single `bytes=a-b` range of an object of `size` bytes (RFC 9110 14.2); undefined for none or several. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
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
    throw Object.assign(new Error(`range ${header} is outside the ${size}-byte value`), { statusCode: 416 });
  }
  return { start, end };
}

/**
 * WADO-RS bulk data (PS3.18 10.4.1.1.3): one top-level attribute's value, as application/octet-stream (with
 * byte ranges) or as a one-part multipart/related response.
 */
async function bulk(
  app: App,
  req: FastifyRequest<{ Params: Params & { tag: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const [row] = await instancesOf(app, req.params);
  if (!/^[0-9A-Fa-f]{8}$/.test(req.params.tag)) throw new QueryError('bulk data is named by its 8-digit tag');
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
    const range = byteRange(req.headers.range, size);
    reply.header('Accept-Ranges', 'bytes').type('application/octet-stream');
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

/** WADO-URI (PS3.18 9): one object by its three UIDs, as application/dicom. */
async function wadoUri(app: App, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const q = new Map(queryPairs(rawQuery(req)));
  if (q.get('requestType') !== 'WADO') throw new QueryError('requestType must be WADO');
  const study = q.get('studyUID');
  const series = q.get('seriesUID');
  const instance = q.get('objectUID');
  if (!study || !series || !instance) throw new QueryError('studyUID, seriesUID and objectUID are required');
  const contentType = q.get('contentType') ?? 'application/dicom';
  if (contentType !== 'application/dicom') {
    throw new LanternError('LNT_HTTP_NOT_ACCEPTABLE', 'this server answers WADO-URI with application/dicom');
  }
  const ts = q.get('transferSyntax');
  const [row] = await instancesOf(app, { study, series, instance });
  if (ts && ts !== row.transferSyntaxUid) {
    throw new LanternError(
      'LNT_HTTP_NOT_ACCEPTABLE',
      'the object is sent in its stored transfer syntax only',
    );
  }
  return reply
    .type('application/dicom')
    .header('Content-Length', String(row.size))
    .header('Content-Disposition', 'attachment; filename="object.dcm"')
    .send(Readable.from(app.retrieve.objectStream(row)));
}

/** DICOMweb under /dicom-web (QIDO-RS, WADO-RS, STOW-RS) and WADO-URI under /wado. */
export async function dicomweb(server: FastifyInstance, app: App): Promise<void> {
  await server.register(
    async (s) => {
      // STOW-RS bodies are read as a stream by the handler, never buffered here.
      s.addContentTypeParser('multipart/related', (_req, payload, done) => done(null, payload));
      type R = FastifyRequest<{ Params: Params }>;
      s.get('/studies', (req: R, reply) => search(app, req, reply, 'STUDY'));
      s.get('/series', (req: R, reply) => search(app, req, reply, 'SERIES'));
      s.get('/instances', (req: R, reply) => search(app, req, reply, 'IMAGE'));
      s.get('/studies/:study/series', (req: R, reply) => search(app, req, reply, 'SERIES'));
      s.get('/studies/:study/instances', (req: R, reply) => search(app, req, reply, 'IMAGE'));
      s.get('/studies/:study/series/:series/instances', (req: R, reply) => search(app, req, reply, 'IMAGE'));
      s.get('/studies/:study', (req: R, reply) => retrieve(app, req, reply));
      s.get('/studies/:study/series/:series', (req: R, reply) => retrieve(app, req, reply));
      s.get('/studies/:study/series/:series/instances/:instance', (req: R, reply) =>
        retrieve(app, req, reply),
      );
      s.get('/studies/:study/metadata', (req: R, reply) => metadata(app, req, reply));
      s.get('/studies/:study/series/:series/metadata', (req: R, reply) => metadata(app, req, reply));
      s.get('/studies/:study/series/:series/instances/:instance/metadata', (req: R, reply) =>
        metadata(app, req, reply),
      );
      s.get(
        '/studies/:study/series/:series/instances/:instance/bulk/:tag',
        (req: FastifyRequest<{ Params: Params & { tag: string } }>, reply) => bulk(app, req, reply),
      );
      s.post('/studies', (req: R, reply) => stow(app, req, reply));
      s.post('/studies/:study', (req: R, reply) => stow(app, req, reply));
    },
    { prefix: '/dicom-web' },
  );
  server.get('/wado', (req, reply) => wadoUri(app, req, reply));
}
