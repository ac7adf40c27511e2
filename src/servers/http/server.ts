import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
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
      // The rest of a refused body is not read: the connection closes after the answer.
      if (err.code === 'LNT_HTTP_TIMEOUT' || err.code === 'LNT_HTTP_TOO_LARGE')
        reply.header('Connection', 'close');
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
  const cors = app.config.http.corsOrigins;
  if (cors.length) {
    await server.register(fastifyCors, {
      origin: cors.includes('*') ? '*' : [...cors],
      methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
      allowedHeaders: [
        'Accept',
        'Content-Type',
        'Authorization',
        'Range',
        'If-None-Match',
        'If-Modified-Since',
      ],
      exposedHeaders: [
        'Content-Range',
        'Accept-Ranges',
        'Content-Length',
        'ETag',
        'Last-Modified',
        'Warning',
      ],
      maxAge: 600,
    });
  }
  // JSON answers (QIDO-RS, metadata) are gzipped for clients that accept it; images and DICOM are not.
  await server.register(fastifyCompress, {
    global: true,
    encodings: ['gzip'],
    threshold: 1024,
    customTypes: /^application\/(dicom\+)?json/,
  });
  await dicomweb(server, app);
  return server;
}
