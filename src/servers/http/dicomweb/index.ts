import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Tag, tagHex } from '../../../core/dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../../../core/dicom/json.js';
import { toNativeXml } from '../../../core/dicom/xml.js';
import { isBulkVr, type Vr } from '../../../core/dicom/vr.js';
import { LanternError, NotFoundError, QueryError } from '../../../core/errors.js';
import type { QueryLevel } from '../../../core/query/levels.js';
import type { App } from '../../../app.js';
import type { InstanceRow } from '../../../ports/index.js';
import { admits, parseAccept } from './accept.js';
import { closing, newBoundary, PART_TAIL, partHead } from './multipart.js';
import {
  frameNumbers,
  renderedType,
  renderParams,
  representative,
  sendFrames,
  sendRendered,
} from './pixels.js';
import { parseQido, qidoRequest, queryPairs } from './qido.js';
import { partyOf, QIDO_MODEL } from './audit.js';
import { stow } from './stow.js';
import { baseUrl, type PathUids, pathKeys, resourceUrl } from './urls.js';

const DICOM_JSON = 'application/dicom+json';
const DICOM_XML = 'application/dicom+xml';
type Params = PathUids;

function rawQuery(req: FastifyRequest): string {
  const q = req.raw.url?.indexOf('?') ?? -1;
  return q < 0 ? '' : req.raw.url!.slice(q + 1);
}

/**
 * How data sets are answered: DICOM JSON (PS3.18 F), or the Native DICOM Model in XML (PS3.19) as
 * multipart/related application/dicom+xml parts, whichever the Accept header names first; else 406.
 */
function negotiateDatasets(req: FastifyRequest): 'json' | 'xml' {
  for (const r of parseAccept(req.headers.accept)) {
    if (admits(r, DICOM_JSON) || admits(r, 'application/json')) return 'json';
    if (r.type === 'multipart/related' && (r.params.type ?? '').toLowerCase() === DICOM_XML) return 'xml';
  }
  throw new LanternError(
    'LNT_HTTP_NOT_ACCEPTABLE',
    `this resource answers in ${DICOM_JSON} or multipart/related; type="${DICOM_XML}"`,
  );
}

function sendDatasets(reply: FastifyReply, form: 'json' | 'xml', datasets: JsonDataset[]): FastifyReply {
  if (form === 'json') return reply.type(DICOM_JSON).send(datasets);
  const boundary = newBoundary();
  const chunks: Buffer[] = [];
  for (const ds of datasets) {
    const xml = Buffer.from(toNativeXml(ds), 'utf8');
    chunks.push(partHead(boundary, { 'Content-Type': DICOM_XML, 'Content-Length': String(xml.length) }));
    chunks.push(xml, PART_TAIL);
  }
  chunks.push(closing(boundary));
  return reply
    .type(`multipart/related; type="${DICOM_XML}"; boundary=${boundary}`)
    .send(Buffer.concat(chunks));
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
  const form = negotiateDatasets(req);
  const params = parseQido(queryPairs(rawQuery(req)));
  const request = qidoRequest(level, params, req.params);
  const base = baseUrl(app, req);
  const results: JsonDataset[] = [];
  let more = false;
  const q = {
    ...request,
    retrieveAeTitle: app.config.dicom.aeTitle,
    actor: req.actor,
    // Recorded before it runs: who asked, and the query as sent.
    audit: { by: partyOf(req), model: QIDO_MODEL, query: `${req.url.split('?')[0]}?${rawQuery(req)}` },
  };
  for await (const r of app.query.queryWithMore(q)) {
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
  return sendDatasets(reply, form, results);
}

/** The instances a retrieve path names, or 404. */
async function instancesOf(app: App, req: FastifyRequest, p: Params): Promise<InstanceRow[]> {
  const rows = await app.retrieve.instances(pathKeys(p), undefined, req.actor);
  if (!rows.length) throw new NotFoundError('no stored instance matches this resource');
  return rows;
}

/**
 * ETag and Last-Modified for a retrieval (RFC 9110 8.8): the tag hashes the stored objects' checksums with
 * what shapes the answer (path, query, Accept). True when the client's copy is current (304 sent).
 */
function fresh(req: FastifyRequest, reply: FastifyReply, rows: readonly InstanceRow[]): boolean {
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

function notModified(reply: FastifyReply): FastifyReply {
  return reply.code(304).send();
}

/**
 * What a retrieve request accepts, instance by instance: multipart/related application/dicom parts in the
 * stored transfer syntax (`transfer-syntax=*`, or none named, as stored) or in a named one the object can be
 * converted to (the first acceptable in the client's order). Returns each instance's target syntax ('' for
 * as stored); 406 when one cannot be sent in anything acceptable.
 */
function negotiateDicom(app: App, accept: string | undefined, rows: readonly InstanceRow[]): string[] {
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
async function retrieve(
  app: App,
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const rows = await instancesOf(app, req, req.params);
  const targets = negotiateDicom(app, req.headers.accept, rows);
  if (fresh(req, reply, rows)) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), rows, 'transferred');
  // The first object is prepared before the answer starts, so that its errors still get a status code.
  const first = targets[0] ? await app.transcode.object(rows[0], targets[0]) : undefined;
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const ts = targets[i] || row.transferSyntaxUid;
      const converted = targets[i] ? (i === 0 ? first! : await app.transcode.object(row, ts)) : undefined;
      const headers: Record<string, string> = { 'Content-Type': `application/dicom; transfer-syntax=${ts}` };
      const length = converted ? converted.length : row.size;
      if (length !== undefined) headers['Content-Length'] = String(length);
      yield partHead(boundary, headers);
      for await (const chunk of converted ? converted.body : app.retrieve.objectStream(row)) yield chunk;
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
  const [row] = await instancesOf(app, req, req.params);
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

/**
 * WADO-URI (PS3.18 9): one object by its three UIDs, as application/dicom or rendered (image/jpeg, image/png;
 * the default for single-frame images is image/jpeg, for everything else application/dicom).
 */
async function wadoUri(app: App, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const q = new Map(queryPairs(rawQuery(req)));
  if (q.get('requestType') !== 'WADO') throw new QueryError('requestType must be WADO');
  const study = q.get('studyUID');
  const series = q.get('seriesUID');
  const instance = q.get('objectUID');
  if (!study || !series || !instance) throw new QueryError('studyUID, seriesUID and objectUID are required');
  const [row] = await instancesOf(app, req, { study, series, instance });
  let contentType = q.get('contentType')?.split(',')[0].trim().toLowerCase();
  if (!contentType) {
    const frames = await app.imaging.layout(row).then(
      (l) => l.frames.length,
      () => 0,
    );
    contentType = frames === 1 ? 'image/jpeg' : 'application/dicom';
  }
  if (fresh(req, reply, [row])) return notModified(reply);
  const rendered = contentType === 'image/jpeg' || contentType === 'image/png';
  await app.retrieve.recordSent(partyOf(req), [row], rendered ? 'accessed' : 'transferred');
  if (rendered) {
    const format = contentType === 'image/png' ? 'png' : 'jpeg';
    const params = new Map<string, string>();
    const wc = q.get('windowCenter');
    const ww = q.get('windowWidth');
    if ((wc === undefined) !== (ww === undefined))
      throw new QueryError('windowCenter and windowWidth go together');
    if (wc !== undefined) params.set('window', `${wc},${ww}`);
    if (q.has('imageQuality')) params.set('quality', q.get('imageQuality')!);
    const rowsParam = q.get('rows');
    const colsParam = q.get('columns');
    const layout = await app.imaging.layout(row);
    let region: string | undefined;
    const r = q.get('region');
    if (r !== undefined) {
      // Normalised x1,y1,x2,y2 (0..1) of the frame.
      const n = r.split(',').map(Number);
      if (
        n.length !== 4 ||
        n.some((v) => !Number.isFinite(v) || v < 0 || v > 1) ||
        n[2] <= n[0] ||
        n[3] <= n[1]
      ) {
        throw new QueryError('region is x1,y1,x2,y2 between 0 and 1, x2 > x1, y2 > y1');
      }
      const { columns, rows } = layout.pm;
      const x = Math.round(n[0] * columns);
      const y = Math.round(n[1] * rows);
      region = `${x},${y},${Math.max(1, Math.round(n[2] * columns) - x)},${Math.max(1, Math.round(n[3] * rows) - y)}`;
    }
    if (rowsParam !== undefined || colsParam !== undefined || region) {
      // Without rows/columns, a region is sent at its own size.
      const [rw, rh] = region
        ? region.split(',').slice(2)
        : [String(layout.pm.columns), String(layout.pm.rows)];
      const vw = colsParam ?? rowsParam ?? rw;
      const vh = rowsParam ?? colsParam ?? rh;
      params.set('viewport', region ? `${vw},${vh},${region}` : `${vw},${vh}`);
    }
    const frame = q.has('frameNumber') ? frameNumbers(q.get('frameNumber')!, layout.frames.length) : [1];
    if (frame.length !== 1) throw new QueryError('frameNumber names one frame');
    return sendRendered(app, reply, [{ row, frame: frame[0] }], renderParams(params, format), false);
  }
  if (contentType !== 'application/dicom') {
    throw new LanternError(
      'LNT_HTTP_NOT_ACCEPTABLE',
      'WADO-URI answers with application/dicom, image/jpeg or image/png',
    );
  }
  const ts = q.get('transferSyntax');
  reply.type('application/dicom').header('Content-Disposition', 'attachment; filename="object.dcm"');
  if (ts && ts !== row.transferSyntaxUid) {
    const converted = await app.transcode.object(row, ts);
    if (converted.length !== undefined) reply.header('Content-Length', String(converted.length));
    return reply.send(Readable.from(converted.body));
  }
  return reply.header('Content-Length', String(row.size)).send(Readable.from(app.retrieve.objectStream(row)));
}

type FrameParams = Params & { frames: string };

/** WADO-RS frames (PS3.18 10.4.1.1.4). */
async function frames(
  app: App,
  req: FastifyRequest<{ Params: FrameParams }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const [row] = await instancesOf(app, req, req.params);
  if (fresh(req, reply, [row])) return notModified(reply);
  await app.retrieve.recordSent(partyOf(req), [row], 'accessed');
  return sendFrames(app, row, req, reply);
}

/**
 * Rendered resources (PS3.18 10.4.1.1.5): an instance (its first frame), frames, or a series or study (the
 * first frame of each instance, multipart). Thumbnails (10.4.1.1.6) show the middle image of the selection,
 * 128 pixels on the longer side unless a viewport is given.
 */
async function rendered(
  app: App,
  req: FastifyRequest<{ Params: Params & { frames?: string } }>,
  reply: FastifyReply,
  kind: 'rendered' | 'thumbnail',
): Promise<FastifyReply> {
  const rows = await instancesOf(app, req, req.params);
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

/** DICOMweb under /dicom-web (QIDO-RS, WADO-RS, STOW-RS) and WADO-URI under /wado. */
export async function dicomweb(server: FastifyInstance, app: App): Promise<void> {
  await server.register(
    async (s) => {
      // Reading needs study.read, storing study.store (checked again by the services).
      s.addHook('onRoute', (route) => {
        const write = [route.method].flat().includes('POST');
        route.config = {
          ...route.config,
          access: route.config?.access ?? (write ? 'study.store' : 'study.read'),
        };
      });
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
      type F = FastifyRequest<{ Params: FrameParams }>;
      const inst = '/studies/:study/series/:series/instances/:instance';
      s.get(`${inst}/frames/:frames`, (req: F, reply) => frames(app, req, reply));
      s.get(`${inst}/frames/:frames/rendered`, (req: F, reply) => rendered(app, req, reply, 'rendered'));
      s.get(`${inst}/frames/:frames/thumbnail`, (req: F, reply) => rendered(app, req, reply, 'thumbnail'));
      for (const at of ['/studies/:study', '/studies/:study/series/:series', inst]) {
        s.get(`${at}/rendered`, (req: R, reply) => rendered(app, req, reply, 'rendered'));
        s.get(`${at}/thumbnail`, (req: R, reply) => rendered(app, req, reply, 'thumbnail'));
      }
      // STOW-RS bodies may take long: their own idle timer bounds them (http.bodyIdleSeconds).
      const streams = { config: { streamsBody: true } };
      s.post('/studies', streams, (req: R, reply) => stow(app, req, reply));
      s.post('/studies/:study', streams, (req: R, reply) => stow(app, req, reply));
    },
    { prefix: '/dicom-web' },
  );
  server.get('/wado', { config: { access: 'study.read' } }, (req, reply) => wadoUri(app, req, reply));
}
