import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LanternError, NotFoundError } from '../../core/errors.js';
import { type Actor, requirePermission, SYSTEM } from '../../core/security/actor.js';
import type { Permission } from '../../core/security/roles.js';
import type { App } from '../../app.js';
import type { AccountRecord, SessionRecord } from '../../ports/accounts.js';
import { publicAccount } from '../../services/auth.js';

/**
 * Who may call a route: a permission; `authenticated` (anyone logged in); `password-change` (also an account
 * that must change its password first); `session` (a person signed in, not a token: making tokens); `enrol`
 * (a person signed in who may still have a second factor to enrol); `page` (a page of the web app: a
 * browser without a session is sent to the sign-in page); or `public` (no credentials: /healthz, login).
 */
export type RouteAccess =
  Permission | 'authenticated' | 'password-change' | 'session' | 'enrol' | 'page' | 'public';

/** Where a page sends a browser that is not signed in: the sign-in page, coming back to the page after. */
export function signInUrl(url: string): string {
  return `/login?next=${encodeURIComponent(url)}`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    actor: Actor;
    login?: { session: SessionRecord; account: AccountRecord } | undefined;
  }
}

export const SESSION_COOKIE = 'lantern_session';
/** The session cookie's name over HTTPS: `__Host-` makes browsers keep it only Secure, host-only, Path=/. */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/**
 * Whether the client reached us over HTTPS: TLS here, or a trusted proxy's X-Forwarded-Proto
 * (`http.trustProxy`).
 */
const overHttps = (req: FastifyRequest): boolean => req.protocol === 'https';

/** The session secret the request's cookie carries (under the name its scheme uses). */
export function sessionSecret(req: FastifyRequest): string | undefined {
  return req.cookies[overHttps(req) ? SECURE_SESSION_COOKIE : SESSION_COOKIE];
}
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw new LanternError('LNT_AUTH_REQUIRED', 'the Authorization header takes a Bearer token');
  return m[1];
}

/**
 * Authentication and authorization for every route (deny by default): the route's `access` says who may
 * call it; credentials are an API token (Authorization: Bearer) or the session cookie. A browser session's
 * state changes must carry its X-CSRF-Token. With authentication off (loopback only), requests act as
 * Lantern itself.
 */
export async function authentication(server: FastifyInstance, app: App): Promise<void> {
  await server.register(fastifyCookie);
  server.decorateRequest('actor', null as never);
  server.decorateRequest('login', undefined);
  server.addHook('onRequest', async (req, reply) => {
    const access: RouteAccess | undefined =
      req.routeOptions.config?.access ??
      (req.method === 'OPTIONS' ? 'public' : req.routeOptions.url ? undefined : 'authenticated');
    if (access === 'public') return;
    if (!app.config.security.authentication) {
      req.actor = SYSTEM;
      return;
    }
    if (access === 'page') {
      // Pages are for people in a browser: a session, or the sign-in page (also to change a one-time
      // password first); never a token, which scripts use.
      const secret = sessionSecret(req);
      const s = secret ? await app.auth.session(secret) : undefined;
      if (!s || s.account.mustChange || s.mfaSetupRequired) return reply.redirect(signInUrl(req.url), 302);
      req.actor = s.actor;
      req.login = { session: s.session, account: s.account };
      return;
    }
    const token = bearer(req);
    if (token !== undefined) {
      const actor = token.startsWith('lnt_') ? await app.auth.token(token) : await app.auth.oidcToken(token);
      if (!actor)
        throw new LanternError(
          'LNT_AUTH_REQUIRED',
          'the API token is not valid (unknown, expired or revoked)',
        );
      req.actor = actor;
      if (access === 'session' || access === 'enrol') {
        throw new LanternError(
          'LNT_FORBIDDEN',
          'this is done signed in (a session), not with an API token: a token does not make tokens',
        );
      }
    } else {
      const secret = sessionSecret(req);
      const s = secret ? await app.auth.session(secret) : undefined;
      if (!s)
        throw new LanternError('LNT_AUTH_REQUIRED', 'log in (POST /api/auth/login) or send an API token');
      req.actor = s.actor;
      req.login = { session: s.session, account: s.account };
      if (s.account.mustChange && access !== 'password-change') {
        throw new LanternError(
          'LNT_PASSWORD_CHANGE_REQUIRED',
          'change the one-time password first (POST /api/auth/password)',
        );
      }
      if (s.mfaSetupRequired && access !== 'password-change' && access !== 'enrol') {
        throw new LanternError(
          'LNT_MFA_SETUP_REQUIRED',
          'your role logs in with a second factor: enrol one first (POST /api/auth/mfa)',
        );
      }
      if (!SAFE_METHODS.has(req.method) && req.headers['x-csrf-token'] !== s.session.csrf) {
        throw new LanternError('LNT_CSRF', "send the session's CSRF token in the X-CSRF-Token header");
      }
    }
    if (access === undefined) throw new LanternError('LNT_FORBIDDEN', 'this route is open to no one');
    if (!['authenticated', 'password-change', 'session', 'enrol'].includes(access))
      requirePermission(req.actor, access as Permission);
  });
}

/** The request's JSON object body, or LNT_HTTP_BAD_REQUEST. */
export function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw new LanternError('LNT_HTTP_BAD_REQUEST', 'the body is a JSON object');
  return b as Record<string, unknown>;
}

function str(b: Record<string, unknown>, name: string, optional = false): string | undefined {
  const v = b[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new LanternError('LNT_HTTP_BAD_REQUEST', `${name} is a string`);
  return v;
}

function roles(b: Record<string, unknown>): string[] | undefined {
  const v = b.roles;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((r) => typeof r === 'string')) {
    throw new LanternError('LNT_HTTP_BAD_REQUEST', 'roles is a list of role names');
  }
  return v as string[];
}

function days(b: Record<string, unknown>): number | undefined {
  const v = b.expiresInDays;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3650) {
    throw new LanternError('LNT_HTTP_BAD_REQUEST', 'expiresInDays is a whole number of days, 1 to 3650');
  }
  return v;
}

function kind(b: Record<string, unknown>): 'person' | 'service' | undefined {
  const v = b.kind;
  if (v === undefined) return undefined;
  if (v !== 'person' && v !== 'service')
    throw new LanternError('LNT_HTTP_BAD_REQUEST', 'kind is "person" or "service"');
  return v;
}

/** The signed-in person's own account (a session's). */
function ownAccount(req: FastifyRequest) {
  if (!req.login) throw new LanternError('LNT_FORBIDDEN', 'this is done signed in (a session)');
  return req.login.account;
}

function self(req: FastifyRequest): number {
  if (req.actor.kind !== 'user' || req.actor.via === 'oidc') {
    throw new LanternError('LNT_FORBIDDEN', 'this resource belongs to a Lantern account');
  }
  return req.actor.accountId;
}

/** A session as the API shows it: named by the start of its hash, never by its secret. */
export function sessionView(s: SessionRecord) {
  return {
    id: s.idHash.slice(0, 16),
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    address: s.address,
    userAgent: s.userAgent,
  };
}

/** An API token as the API shows it (never its secret). */
export function tokenView(t: {
  id: number;
  name: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}) {
  return {
    id: t.id,
    name: t.name,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    revokedAt: t.revokedAt,
    lastUsedAt: t.lastUsedAt,
  };
}

/** The account API under /api: login, logout, own sessions and tokens, and account management. */
export async function accountApi(server: FastifyInstance, app: App): Promise<void> {
  const cookie = (req: FastifyRequest, reply: FastifyReply, value: string, maxAge: number) =>
    reply.setCookie(overHttps(req) ? SECURE_SESSION_COOKIE : SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: overHttps(req),
      path: '/',
      maxAge,
    });

  server.post('/api/auth/login', { config: { access: 'public' } }, async (req, reply) => {
    const b = body(req);
    const r = await app.auth.login(
      str(b, 'login')!,
      str(b, 'password')!,
      req.ip,
      req.headers['user-agent'] ?? '',
      str(b, 'code', true),
    );
    cookie(req, reply, r.secret, app.config.security.sessionMaxHours * 3600);
    return reply.send({ account: publicAccount(r.account), csrfToken: r.csrf, expiresAt: r.expiresAt });
  });
  server.post('/api/auth/logout', { config: { access: 'password-change' } }, async (req, reply) => {
    const secret = sessionSecret(req);
    if (req.login && secret) await app.auth.logout(secret, req.login.account.login, req.ip);
    reply.clearCookie(overHttps(req) ? SECURE_SESSION_COOKIE : SESSION_COOKIE, {
      path: '/',
      secure: overHttps(req),
    });
    return reply.code(204).send();
  });
  server.get('/api/auth/me', { config: { access: 'password-change' } }, async (req) => {
    const a = req.actor;
    if (a.kind !== 'user') return { login: 'lantern', roles: ['administrator'], via: 'system' };
    if (a.via === 'oidc') return { login: a.login, displayName: a.login, roles: a.roles, via: a.via };
    const account = req.login?.account ?? (await app.auth.account(a.login));
    return {
      ...publicAccount(account),
      via: a.via,
      mfa: await app.auth.mfaState(account),
      // What the web app offers (the routes check again).
      permissions: [...a.permissions],
      csrfToken: req.login?.session.csrf,
      // What the web app shows and enforces: a session ends after this many idle minutes, and at its end.
      ...(req.login
        ? {
            idleMinutes: app.config.security.sessionIdleMinutes,
            sessionExpiresAt: req.login.session.expiresAt,
          }
        : {}),
    };
  });
  server.post('/api/auth/password', { config: { access: 'password-change' } }, async (req, reply) => {
    const b = body(req);
    await app.auth.changePassword(
      self(req),
      str(b, 'current')!,
      str(b, 'new')!,
      req.login?.session.idHash,
      req.ip,
    );
    return reply.code(204).send();
  });
  // The second factor: enrol with the password (a secret, its otpauth URI and QR code, shown once), then
  // confirm with a first
  // code (the recovery codes come back, shown once). Open to a session that must enrol before anything else.
  server.post('/api/auth/mfa', { config: { access: 'enrol' } }, async (req, reply) => {
    const account = ownAccount(req);
    const e = await app.auth.beginMfa(account, str(body(req), 'password')!, req.ip);
    return reply.code(201).send({
      secret: e.secret,
      uri: e.uri,
      qr: `data:image/svg+xml;base64,${Buffer.from(e.qrSvg).toString('base64')}`,
    });
  });
  server.post('/api/auth/mfa/confirm', { config: { access: 'enrol' } }, async (req) => {
    const b = body(req);
    const account = ownAccount(req);
    return { recoveryCodes: await app.auth.confirmMfa(account, str(b, 'code')!, req.actor) };
  });
  server.get('/api/auth/sessions', { config: { access: 'authenticated' } }, async (req) => {
    const sessions = await app.auth.sessionsOf(self(req));
    return sessions.map((s) => ({ ...sessionView(s), current: s.idHash === req.login?.session.idHash }));
  });
  server.delete<{ Params: { id: string } }>(
    '/api/auth/sessions/:id',
    { config: { access: 'authenticated' } },
    async (req, reply) => {
      if (!(await app.auth.endSession(self(req), req.params.id)))
        throw new NotFoundError('no such session of yours');
      return reply.code(204).send();
    },
  );

  server.get('/api/tokens', { config: { access: 'authenticated' } }, async (req) =>
    (await app.auth.tokensOf(self(req))).map(tokenView),
  );
  server.post('/api/tokens', { config: { access: 'session' } }, async (req, reply) => {
    const b = body(req);
    const login = (req.actor as { login: string }).login;
    self(req);
    // A person's own token: made in a signed-in session, the password confirmed again (the service refuses
    // a token made with a token, and counts a wrong password as a failed login).
    const password = str(b, 'password', true);
    const t = await app.auth.createToken(
      login,
      {
        name: str(b, 'name', true),
        expiresInDays: days(b),
        reauth: password === undefined ? undefined : { password, address: req.ip },
      },
      req.actor,
    );
    return reply.code(201).send({ token: t.token, ...tokenView(t.record) });
  });
  server.delete<{ Params: { id: string } }>(
    '/api/tokens/:id',
    { config: { access: 'authenticated' } },
    async (req, reply) => {
      if (!(await app.auth.revokeToken(self(req), Number(req.params.id), req.actor)))
        throw new NotFoundError('no such token of yours');
      return reply.code(204).send();
    },
  );

  server.get('/api/users', { config: { access: 'users.manage' } }, async () =>
    (await app.auth.listAccounts()).map(publicAccount),
  );
  server.post('/api/users', { config: { access: 'users.manage' } }, async (req, reply) => {
    const b = body(req);
    const r = await app.auth.createAccount(
      {
        login: str(b, 'login')!,
        displayName: str(b, 'displayName', true),
        roles: roles(b) ?? [],
        kind: kind(b),
      },
      undefined,
      req.actor,
    );
    return reply.code(201).send({ account: publicAccount(r.account), oneTimePassword: r.password });
  });
  server.patch<{ Params: { login: string } }>(
    '/api/users/:login',
    { config: { access: 'users.manage' } },
    async (req) => {
      const b = body(req);
      const enabled = b.enabled;
      if (enabled !== undefined && typeof enabled !== 'boolean')
        throw new LanternError('LNT_HTTP_BAD_REQUEST', 'enabled is true or false');
      return publicAccount(
        await app.auth.updateAccount(
          req.params.login,
          {
            displayName: str(b, 'displayName', true),
            roles: roles(b),
            enabled,
          },
          req.actor,
        ),
      );
    },
  );
  server.delete<{ Params: { login: string } }>(
    '/api/users/:login/mfa',
    { config: { access: 'users.manage' } },
    async (req, reply) => {
      if (!(await app.auth.resetMfa(req.params.login, req.actor)))
        throw new NotFoundError('the account has no second factor');
      return reply.code(204).send();
    },
  );
  server.post<{ Params: { login: string } }>(
    '/api/users/:login/reset-password',
    { config: { access: 'users.manage' } },
    async (req) => ({
      oneTimePassword: await app.auth.resetPassword(req.params.login, req.actor),
    }),
  );
  server.post<{ Params: { login: string } }>(
    '/api/users/:login/tokens',
    { config: { access: 'users.manage' } },
    async (req, reply) => {
      const b = body(req);
      const password = str(b, 'password', true);
      const t = await app.auth.createToken(
        req.params.login,
        {
          name: str(b, 'name', true),
          expiresInDays: days(b),
          reauth: password === undefined ? undefined : { password, address: req.ip },
        },
        req.actor,
      );
      return reply.code(201).send({ token: t.token, ...tokenView(t.record) });
    },
  );
}
