import type { FastifyReply, FastifyRequest } from 'fastify';
import { Tag, tagHex } from '../../../core/dicom/dictionary.js';
import type { JsonDataset } from '../../../core/dicom/json.js';
import type { QueryLevel } from '../../../core/query/levels.js';
import type { App } from '../../../app.js';
import { partyOf, QIDO_MODEL } from './audit.js';
import { firstString, negotiateDatasets, sendDatasets } from './datasets.js';
import { parseQido, qidoRequest, queryPairs } from './qido.js';
import { rawQuery } from './request.js';
import { baseUrl, type PathUids, pathKeys, resourceUrl } from './urls.js';

/** QIDO-RS (PS3.18 10.6): the six search resources. */
export async function search(
  app: App,
  req: FastifyRequest<{ Params: PathUids }>,
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
