import Fastify, { type FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE, isLanternError } from '../../core/errors.js';
import type { App } from '../../main.js';
import { VERSION } from '../../version.js';
import { dicomweb } from './dicomweb/index.js';

/**
 * The HTTP server: /healthz and DICOMweb (/dicom-web, /wado); the REST API (/api) and the web app register
 * here as plugins in later versions. Errors map to HTTP in this one handler, by code.
 */
export async function buildHttpServer(app: App): Promise<FastifyInstance> {
  const server = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  server.setErrorHandler((error, _req, reply) => {
    if (isLanternError(error)) {
      const err = error;
      return reply.code(ERROR_CATALOGUE[err.code].http).send({ code: err.code, message: err.message });
    }
    const err = error as Error & { statusCode?: number };
    const status = err.statusCode;
    if (status && status >= 400 && status < 500)
      return reply.code(status).send({ code: 'LNT_HTTP_BAD_REQUEST', message: err.message });
    app.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled HTTP error');
    return reply.code(500).send({ code: 'LNT_INTERNAL', message: 'internal error' });
  });
  server.get('/healthz', async () => {
    const counts = await app.index.counts();
    return {
      status: 'ok',
      version: VERSION,
      aeTitle: app.config.dicom.aeTitle,
      index: app.index.dialect,
      instances: counts.instances,
      studies: counts.studies,
      quarantined: counts.quarantined,
    };
  });
  await dicomweb(server, app);
  return server;
}
