import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import { type FrameParams, frames, rendered } from './rendered.js';
import { bulk, metadata, retrieve } from './retrieve.js';
import { search } from './search.js';
import { stow } from './stow.js';
import type { PathUids } from './urls.js';
import { wadoUri } from './wado-uri.js';

/** The DICOMweb routes (QIDO-RS, WADO-RS, STOW-RS), registered on the plugin under /dicom-web. */
export function dicomwebRoutes(s: FastifyInstance, app: App): void {
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
  type R = FastifyRequest<{ Params: PathUids }>;
  s.get('/studies', (req: R, reply) => search(app, req, reply, 'STUDY'));
  s.get('/series', (req: R, reply) => search(app, req, reply, 'SERIES'));
  s.get('/instances', (req: R, reply) => search(app, req, reply, 'IMAGE'));
  s.get('/studies/:study/series', (req: R, reply) => search(app, req, reply, 'SERIES'));
  s.get('/studies/:study/instances', (req: R, reply) => search(app, req, reply, 'IMAGE'));
  s.get('/studies/:study/series/:series/instances', (req: R, reply) => search(app, req, reply, 'IMAGE'));
  s.get('/studies/:study', (req: R, reply) => retrieve(app, req, reply));
  s.get('/studies/:study/series/:series', (req: R, reply) => retrieve(app, req, reply));
  s.get('/studies/:study/series/:series/instances/:instance', (req: R, reply) => retrieve(app, req, reply));
  s.get('/studies/:study/metadata', (req: R, reply) => metadata(app, req, reply));
  s.get('/studies/:study/series/:series/metadata', (req: R, reply) => metadata(app, req, reply));
  s.get('/studies/:study/series/:series/instances/:instance/metadata', (req: R, reply) =>
    metadata(app, req, reply),
  );
  s.get(
    '/studies/:study/series/:series/instances/:instance/bulk/:tag',
    (req: FastifyRequest<{ Params: PathUids & { tag: string } }>, reply) => bulk(app, req, reply),
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
}

/** WADO-URI at /wado (outside the /dicom-web prefix), for reading. */
export function wadoUriRoute(server: FastifyInstance, app: App): void {
  server.get('/wado', { config: { access: 'study.read' } }, (req, reply) => wadoUri(app, req, reply));
}
