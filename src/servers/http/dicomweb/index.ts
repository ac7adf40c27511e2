import type { FastifyInstance } from 'fastify';
import type { App } from '../../../app.js';
import { dicomwebRoutes, wadoUriRoute } from './routes.js';

/** DICOMweb under /dicom-web (QIDO-RS, WADO-RS, STOW-RS) and WADO-URI under /wado. */
export async function dicomweb(server: FastifyInstance, app: App): Promise<void> {
  await server.register(async (s) => dicomwebRoutes(s, app), { prefix: '/dicom-web' });
  wadoUriRoute(server, app);
}
