import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * OHIF's page as published, moved under /ohif/: its public path and absolute links rewritten, its service
 * worker left out (a worker caching what a person read would outlive the session). Its two small inline
 * scripts are allowed by their hashes, nothing else inline.
 */
export function ohifPage(index: string): { html: string; csp: string } {
  const html = index
    .replace(/window\.PUBLIC_URL="\/"/g, 'window.PUBLIC_URL="/ohif/"')
    .replace(/<script[^>]*init-service-worker\.js[^>]*><\/script>/g, '')
    .replace(/(src|href)="\/(?!\/)/g, '$1="/ohif/');
  const hashes = [...html.matchAll(/<script>([^<]*)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
  );
  // OHIF sets styles inline throughout (its components and the imaging tools): style-src allows it here,
  // in OHIF's pages only; scripts stay to this origin, WebAssembly and the hashed inline scripts.
  const csp =
    `default-src 'none'; script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}; worker-src 'self' blob:; ` +
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; " +
    "manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";
  return { html, csp };
}

/**
 * The installed OHIF Viewer at /ohif/: its pages to people signed in (others go to the sign-in page first),
 * its files public (they hold no data; the installer wrote its configuration for this origin).
 */
export async function ohifViewer(server: FastifyInstance, dir: string): Promise<void> {
  const { html, csp } = ohifPage(readFileSync(join(dir, 'index.html'), 'utf8'));
  const page = async (_req: unknown, reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', csp)
      .header('Cache-Control', 'no-store')
      .send(html);
  server.get('/ohif', { config: { access: 'page' } }, page);
  server.get('/ohif/', { config: { access: 'page' } }, page);
  server.addHook('onRoute', (r) => {
    if (r.url.startsWith('/ohif/') && r.url !== '/ohif/*' && r.config?.access === undefined)
      r.config = { ...r.config, access: 'public' };
  });
  await server.register(fastifyStatic, {
    root: dir,
    prefix: '/ohif/',
    index: false,
    // One route per file found now: any other path under /ohif/ is one of OHIF's pages.
    wildcard: false,
    decorateReply: false,
    maxAge: '1d',
    serveDotFiles: false,
    allowedPath: (path) => path !== '/index.html',
    setHeaders: (res) => res.setHeader('Content-Security-Policy', csp),
  });
  server.get('/ohif/*', { config: { access: 'page' } }, page);
}
