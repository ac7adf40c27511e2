import type { FastifyRequest } from 'fastify';
import type { App } from '../../../main.js';

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
