import { readFileSync } from 'node:fs';
import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { actorName } from '../../core/security/actor.js';
import { ConfigError, ERROR_CATALOGUE, isLanternError, LanternError } from '../../core/errors.js';
import type { App } from '../../app.js';
import { VERSION } from '../../version.js';
import { adminApi } from './admin.js';
import { patientsApi } from './patients.js';
import { auditApi } from './audit.js';
import { loginPage } from './web/login.js';
import { webApp } from './web/app.js';
import { ohifViewer } from './web/ohif.js';
import { accountApi, authentication } from './auth.js';
import { dicomweb } from './dicomweb/index.js';
import { applyHttpLimits, type HttpLimits, nodeServerOptions } from './limits.js';

/**
 * The HTTP server: /healthz and DICOMweb (/dicom-web, /wado); the REST API (/api) and the web app register
 * here as plugins in later versions. Errors map to HTTP in this one handler, by code.
 */
/**
 * Refuses to expose HTTP without authentication: with authentication off, only a loopback address may be
 * bound (a misconfiguration stops the start, saying how to fix it).
 */
/** Whether a listening address is loopback only. */
const isLoopback = (host: string): boolean =>
  host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');

export function assertSafeBinding(app: App, host: string): void {
  const loopback = isLoopback(host);
  if (!app.config.security.authentication && !loopback) {
    throw new ConfigError(
      `http.host is ${host} while security.authentication is off: set security.authentication to true, ` +
        'or bind http.host to 127.0.0.1',
    );
  }
}

/**
 * The HTTP access log (`log.access`), apart from the operational log: what was asked (the route as declared,
 * so no UID, name or query value, which may be patient data), the answer, how long it took and who asked.
 */
function accessLog(server: FastifyInstance, app: App): void {
  const dest = app.config.log.access;
  if (!dest) return;
  const out = pino(
    { base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' },
    dest === 'stdout'
      ? pino.destination({ dest: 1, sync: false })
      : pino.destination({ dest, mkdir: true, append: true, sync: false }),
  );
  server.addHook('onResponse', async (req, reply) => {
    out.info({
      method: req.method,
      route: req.routeOptions.url ?? '(no route)',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      user: req.actor ? actorName(req.actor) : '-',
      via: req.actor?.kind === 'user' ? req.actor.via : undefined,
      address: req.ip,
    });
  });
  server.addHook('onClose', async () => {
    await new Promise<void>((done) => out.flush(() => done()));
  });
}

/** Refusals that become Security Alerts (a wrong login has its own User Authentication event). */
const REFUSALS: ReadonlySet<string> = new Set([
  'LNT_AUTH_REQUIRED',
  'LNT_FORBIDDEN',
  'LNT_CSRF',
  'LNT_REAUTH_FAILED',
  'LNT_PASSWORD_CHANGE_REQUIRED',
  'LNT_HTTP_HOST_NOT_ALLOWED',
]);

/** A refused request as a (rate-limited) Security Alert: who, from where, which route; never its values. */
async function alertRefusal(app: App, req: FastifyRequest, status: number, code: string): Promise<void> {
  const by = req.actor
    ? app.audit.participant(req.actor, true, req.ip)
    : { userId: 'unauthenticated', requestor: true, networkAccessPoint: req.ip.replace(/^::ffff:/, '') };
  await app.alerts
    .refused({
      kind: code === 'LNT_REAUTH_FAILED' ? 'reauthentication' : 'access',
      by,
      what: `${status} ${code} ${req.method} ${req.routeOptions.url ?? '(no route)'}`,
    })
    .catch((e: unknown) =>
      app.log.error({ err: { message: (e as Error).message } }, 'security alert not recorded'),
    );
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Which Host header values are answered: `http.allowedHosts` (and `*.domain` for its subdomains), the host
 * of `http.publicUrl`; with no list, loopback names only while HTTP listens on loopback (a page on another
 * site cannot reach a loopback Lantern through a name it controls: DNS rebinding), else any.
 */
export function hostFilter(app: App): ((hostname: string) => boolean) | undefined {
  const h = app.config.http;
  const names = new Set(h.allowedHosts.map((x) => x.toLowerCase()));
  if (h.publicUrl) names.add(new URL(h.publicUrl).hostname.toLowerCase());
  if (!h.allowedHosts.length) {
    if (!isLoopback(h.host)) return undefined;
    for (const n of LOOPBACK_NAMES) names.add(n);
  }
  const suffixes = [...names].filter((n) => n.startsWith('*.')).map((n) => n.slice(1));
  return (hostname) => {
    const name = hostname.toLowerCase();
    return names.has(name) || suffixes.some((s) => name.endsWith(s) && name.length > s.length);
  };
}

/** HTTPS from http.tlsCert and http.tlsKey (TLS 1.2 at least), or undefined for plain HTTP. */
function httpsOptions(app: App): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' } | undefined {
  const { tlsCert, tlsKey } = app.config.http;
  if (!tlsCert && !tlsKey) return undefined;
  if (!tlsCert || !tlsKey) throw new ConfigError('HTTPS needs both http.tlsCert and http.tlsKey');
  const read = (path: string, name: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`${name}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  return { cert: read(tlsCert, 'http.tlsCert'), key: read(tlsKey, 'http.tlsKey'), minVersion: 'TLSv1.2' };
}

/** A route as registered: method, URL pattern, and who may call it. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: string | undefined;
}

const routeTables = new WeakMap<FastifyInstance, (() => RouteEntry)[]>();

/** Every route of a server built here, with its access (the security tests walk it). */
export function routeTable(server: FastifyInstance): RouteEntry[] {
  return (routeTables.get(server) ?? []).map((f) => f());
}

export async function buildHttpServer(app: App): Promise<FastifyInstance> {
  const tls = httpsOptions(app);
  const h = app.config.http;
  const limits: HttpLimits = {
    requestTimeoutMs: h.requestTimeoutSeconds * 1000,
    maxConnectionsPerAddress: h.maxConnectionsPerAddress,
    idleMs: h.idleSeconds * 1000,
  };
  const node = nodeServerOptions(limits);
  const common = {
    logger: false,
    // Behind a reverse proxy: the client's address and scheme from X-Forwarded-For/-Proto, from these only.
    trustProxy: h.trustProxy.length ? [...h.trustProxy] : false,
    bodyLimit: 1024 * 1024,
    requestTimeout: 0,
    connectionTimeout: limits.idleMs,
    keepAliveTimeout: node.keepAliveTimeout,
  };
  const server = (
    tls ? Fastify({ ...common, https: { ...tls, ...node } }) : Fastify({ ...common, http: node })
  ) as FastifyInstance;
  applyHttpLimits(server, limits, !!tls);
  const table: (() => RouteEntry)[] = [];
  routeTables.set(server, table);
  server.addHook('onRoute', (r) => {
    // Read when asked: plugins set a route's access in their own onRoute hooks, after this one.
    for (const method of [r.method].flat()) {
      table.push(() => ({ method, url: r.url ?? r.path, access: r.config?.access }));
    }
  });
  server.setErrorHandler(async (error, req, reply) => {
    if (isLanternError(error)) {
      const err = error;
      const status = ERROR_CATALOGUE[err.code].http;
      if (REFUSALS.has(err.code)) await alertRefusal(app, req, status, err.code);
      if (err.code === 'LNT_AUTH_REQUIRED' || err.code === 'LNT_AUTH_FAILED') {
        reply.header('WWW-Authenticate', 'Bearer realm="lantern"');
      }
      // The rest of a refused body is not read: the connection closes after the answer.
      if (err.code === 'LNT_HTTP_TIMEOUT' || err.code === 'LNT_HTTP_TOO_LARGE')
        reply.header('Connection', 'close');
      return reply.code(status).send({ code: err.code, message: err.message });
    }
    const err = error as Error & { statusCode?: number };
    const status = err.statusCode;
    if (status && status >= 400 && status < 500)
      return reply.code(status).send({ code: 'LNT_HTTP_BAD_REQUEST', message: err.message });
    app.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled HTTP error');
    return reply.code(500).send({ code: 'LNT_INTERNAL', message: 'internal error' });
  });
  accessLog(server, app);
  const allowed = hostFilter(app);
  if (allowed) {
    server.addHook('onRequest', async (req) => {
      if (!allowed(req.hostname)) {
        throw new LanternError(
          'LNT_HTTP_HOST_NOT_ALLOWED',
          'this server does not answer for that host name (http.allowedHosts)',
        );
      }
    });
  }
  await authentication(server, app);
  // Security headers on every answer (the JSON API and DICOMweb; the web app adds its own policy).
  server.addHook('onSend', async (_req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    if (!reply.hasHeader('Content-Security-Policy')) {
      reply.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    }
    reply.header('Cache-Control', reply.getHeader('Cache-Control') ?? 'private, no-cache');
    if (tls) reply.header('Strict-Transport-Security', 'max-age=31536000');
  });
  server.get('/healthz', { config: { access: 'public' } }, async () => {
    const counts = await app.index.counts();
    return {
      status: 'ok',
      version: VERSION,
      aeTitle: app.config.dicom.aeTitle,
      index: app.index.dialect,
      instances: counts.instances,
      studies: counts.studies,
      quarantined: counts.quarantined,
      faults: app.faults.summary,
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
  await accountApi(server, app);
  await auditApi(server, app);
  await adminApi(server, app);
  await patientsApi(server, app);
  await loginPage(server);
  await webApp(server);
  if (app.viewers.ohif) await ohifViewer(server, app.viewers.ohif);
  server.get('/api/viewers', { config: { access: 'authenticated' } }, async () => ({
    ohif: !!app.viewers.ohif,
  }));
  await dicomweb(server, app);
  return server;
}
