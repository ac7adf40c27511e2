import type { FastifyRequest } from 'fastify';
import { Tag } from '../../../core/dicom/dictionary.js';
import { QueryError } from '../../../core/errors.js';
import type { QueryKey } from '../../../core/query/keys.js';
import type { App } from '../../../app.js';
import { isUid } from '../../../core/dicom/uid.js';

/** The DICOMweb root URL as clients reach it (RetrieveURL, BulkDataURI): configured, else from the request. */
export function baseUrl(app: App, req: FastifyRequest): string {
  const configured = app.config.http.publicUrl;
  if (configured) return configured.replace(/\/+$/, '') + '/dicom-web';
  return `${req.protocol}://${req.host}/dicom-web`;
}

/** The URL of a study, series or instance under the DICOMweb root. */
export function resourceUrl(base: string, study: string, series?: string, instance?: string): string {
  let url = `${base}/studies/${study}`;
  if (series) url += `/series/${series}`;
  if (instance) url += `/instances/${instance}`;
  return url;
}

/** The UIDs a resource path names. */
export interface PathUids {
  readonly study?: string;
  readonly series?: string;
  readonly instance?: string;
}

/** Checks the UIDs of a path (400 for one that is not a UID) and turns them into matching keys. */
export function pathKeys(p: PathUids): QueryKey[] {
  const keys: QueryKey[] = [];
  for (const [tag, uid, what] of [
    [Tag.StudyInstanceUID, p.study, 'study'],
    [Tag.SeriesInstanceUID, p.series, 'series'],
    [Tag.SOPInstanceUID, p.instance, 'SOP instance'],
  ] as const) {
    if (uid === undefined) continue;
    if (!isUid(uid)) throw new QueryError(`the ${what} UID in the path is not a valid UID`);
    keys.push({ tag, vr: 'UI', value: uid });
  }
  return keys;
}
