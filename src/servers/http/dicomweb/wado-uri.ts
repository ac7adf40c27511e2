import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LanternError, QueryError } from '../../../core/errors.js';
import type { App } from '../../../app.js';
import { partyOf } from './audit.js';
import { fresh, notModified } from './conditional.js';
import { frameNumbers, renderParams, sendRendered } from './pixels.js';
import { queryPairs } from './qido.js';
import { objectsOf, rawQuery } from './request.js';

/**
 * WADO-URI (PS3.18 9): one object by its three UIDs, as application/dicom or rendered (image/jpeg, image/png;
 * the default for single-frame images is image/jpeg, for everything else application/dicom).
 */
export async function wadoUri(app: App, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const q = new Map(queryPairs(rawQuery(req)));
  if (q.get('requestType') !== 'WADO') throw new QueryError('requestType must be WADO');
  const study = q.get('studyUID');
  const series = q.get('seriesUID');
  const instance = q.get('objectUID');
  if (!study || !series || !instance) throw new QueryError('studyUID, seriesUID and objectUID are required');
  const [row] = await objectsOf(app, req, reply, { study, series, instance });
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
