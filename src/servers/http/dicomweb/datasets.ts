import type { FastifyReply, FastifyRequest } from 'fastify';
import { tagHex } from '../../../core/dicom/dictionary.js';
import type { JsonDataset } from '../../../core/dicom/json.js';
import { toNativeXml } from '../../../core/dicom/xml.js';
import { LanternError } from '../../../core/errors.js';
import { admits, parseAccept } from './accept.js';
import { closing, newBoundary, PART_TAIL, partHead } from './multipart.js';

const DICOM_JSON = 'application/dicom+json';
const DICOM_XML = 'application/dicom+xml';

/**
 * How data sets are answered: DICOM JSON (PS3.18 F), or the Native DICOM Model in XML (PS3.19) as
 * multipart/related application/dicom+xml parts, whichever the Accept header names first; else 406.
 */
export function negotiateDatasets(req: FastifyRequest): 'json' | 'xml' {
  for (const r of parseAccept(req.headers.accept)) {
    if (admits(r, DICOM_JSON) || admits(r, 'application/json')) return 'json';
    if (r.type === 'multipart/related' && (r.params.type ?? '').toLowerCase() === DICOM_XML) return 'xml';
  }
  throw new LanternError(
    'LNT_HTTP_NOT_ACCEPTABLE',
    `this resource answers in ${DICOM_JSON} or multipart/related; type="${DICOM_XML}"`,
  );
}

/** Answers data sets in the form negotiated: a DICOM JSON array, or one XML part per data set. */
export function sendDatasets(
  reply: FastifyReply,
  form: 'json' | 'xml',
  datasets: JsonDataset[],
): FastifyReply {
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

/** The first value of a top-level string attribute, if any. */
export function firstString(ds: JsonDataset, tag: number): string | undefined {
  const v = ds[tagHex(tag)]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
}
