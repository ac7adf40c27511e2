import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '../../core/errors.js';

/**
 * What bounds one HTTP client: a deadline for its whole request (headers and body) to arrive, a cap on
 * its connections, and (set when the server is made) an idle time after which a silent connection closes.
 * A client that trickles its request, opens connection after connection or stops reading holds nothing
 * for long. STOW-RS bodies, which may take long, are bounded by their own idle timer instead.
 */
export interface HttpLimits {
  /** The whole request must arrive within this (ms). */
  readonly requestTimeoutMs: number;
  /** Connections from one address at once; 0: no limit. */
  readonly maxConnectionsPerAddress: number;
  /** A connection with no traffic either way for this long is closed (ms). */
  readonly idleMs: number;
}

/** Options for Node's server: headers get the request deadline, checked every second, not every 30 s. */
export function nodeServerOptions(l: HttpLimits): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
  keepAliveTimeout: number;
} {
  return {
    headersTimeout: l.requestTimeoutMs,
    // The body deadline is ours (below), per route: Node's would also cut long STOW-RS uploads.
    requestTimeout: 0,
    connectionsCheckingInterval: 1000,
    keepAliveTimeout: Math.min(l.idleMs, 72_000),
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler reads the body as a stream and bounds it itself (STOW-RS). */
    streamsBody?: boolean;
  }
}

const deadlines = new WeakMap<object, NodeJS.Timeout>();

/** Installs the request deadline and the per-address connection cap on a server built by Fastify. */
export function applyHttpLimits(server: FastifyInstance, l: HttpLimits, tls: boolean): void {
  const node = server.server as Server;
  node.setTimeout(l.idleMs);
  // The body of a route that streams it (STOW-RS) is its handler's to bound; every other request must
  // have arrived, body and all, when its handler starts.
  server.addHook('onRequest', (req, reply, done) => {
    if (req.raw.complete || req.routeOptions.config?.streamsBody) return done();
    const timer = setTimeout(() => {
      if (req.raw.complete || reply.sent) return;
      reply
        .code(408)
        .header('Connection', 'close')
        .send({
          code: 'LNT_HTTP_TIMEOUT' satisfies ErrorCode,
          message: `the request did not arrive within ${l.requestTimeoutMs / 1000} s`,
        });
    }, l.requestTimeoutMs);
    timer.unref();
    deadlines.set(req, timer);
    reply.raw.once('close', () => clearTimeout(timer));
    done();
  });
  server.addHook('preHandler', (req, _reply, done) => {
    clearTimeout(deadlines.get(req));
    done();
  });
  if (l.maxConnectionsPerAddress <= 0) return;
  const open = new Map<string, number>();
  // Before Node's own listener, so that a refused connection is never parsed.
  node.prependListener('connection', (socket: Socket) => {
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const n = (open.get(address) ?? 0) + 1;
    if (n > l.maxConnectionsPerAddress) {
      // Refused at once, with a plain answer where the connection is plain HTTP.
      if (!tls) {
        const body = JSON.stringify({
          code: 'LNT_HTTP_TOO_MANY_CONNECTIONS' satisfies ErrorCode,
          message: `more than ${l.maxConnectionsPerAddress} connections from one address`,
        });
        socket.end(
          `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      }
      socket.destroySoon();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
