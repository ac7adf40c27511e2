import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The web app's policy: its own scripts (and WebAssembly, for the image codecs), workers and style sheets
 * only; no inline script, nothing from another origin, no framing. Images drawn by the viewer come from blob:
 * and data: URLs it makes itself. Style attributes are allowed (`style-src-attr`): the imaging tools draw
 * their cursors and annotations as SVG markup with style attributes; those cannot run code, and what they
 * could load is held by img-src and font-src to this origin.
 */
export const APP_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; style-src 'self'; " +
  "style-src-attr 'unsafe-inline'; " +
  "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

/** The app's pages: the study list at /, the viewer, administration (each answered with the app's shell). */
export const APP_PAGES = ['/', '/viewer/*', '/admin', '/admin/*'] as const;

/** Where the install builds the app (web/dist in the package), found from this module's place in it. */
export function builtAppDir(): string {
  // src/servers/http/web/app.ts and dist/servers/http/web/app.js both sit four levels below the package.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'web', 'dist');
}

/**
 * The web app (study list, viewer, administration), built into `dir` by the install: the shell for every
 * page of the app, to people signed in (others go to the sign-in page first), and its assets under /app/,
 * public (they hold no data) and cached for a year (their names carry a hash of their content).
 */
export async function webApp(server: FastifyInstance, dir = builtAppDir()): Promise<void> {
  const indexFile = join(dir, 'index.html');
  const built = existsSync(indexFile);
  // Read once: the shell is small and the same for every page.
  const shell = built ? readFileSync(indexFile, 'utf8') : undefined;
  const page = async (_req: unknown, reply: FastifyReply) => {
    reply.header('Content-Security-Policy', APP_CSP).header('Cache-Control', 'no-store');
    if (!shell) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web app is not built: run npm run build (npm ci builds it).\n');
    }
    return reply.type('text/html; charset=utf-8').send(shell);
  };
  for (const url of APP_PAGES) server.get(url, { config: { access: 'page' } }, page);
  if (!built) return;
  server.addHook('onRoute', (r) => {
    if (r.url.startsWith('/app/')) r.config = { ...r.config, access: 'public' };
  });
  await server.register(fastifyStatic, {
    root: dir,
    prefix: '/app/',
    index: false,
    wildcard: true,
    decorateReply: false,
    immutable: true,
    maxAge: '365d',
    serveDotFiles: false,
    setHeaders: (res) => res.setHeader('Content-Security-Policy', APP_CSP),
  });
}
