import type { FastifyInstance } from 'fastify';
import { LanternError, NotFoundError } from '../../core/errors.js';
import { statusCategory } from '../../core/dimse/status.js';
import type { App } from '../../app.js';
import { VERSION } from '../../version.js';
import { body, sessionView, tokenView } from './auth.js';
import { isUid } from '../../core/dicom/uid.js';
import { partyOf } from './dicomweb/audit.js';

function int(v: unknown, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw new LanternError('LNT_HTTP_BAD_REQUEST', `${name} is a whole number, ${min} to ${max}`);
  return n;
}

/**
 * The administration API under /api: the DICOM peers of the AE registry (with a C-ECHO test), the archive's
 * state and quarantine (and the study list's study states), and the sessions and tokens of other accounts.
 * Each route names its permission; the services check it again.
 */
export async function adminApi(server: FastifyInstance, app: App): Promise<void> {
  server.get('/api/aes', { config: { access: 'ae.manage' } }, async () => app.aes.list());
  server.post('/api/aes', { config: { access: 'ae.manage' } }, async (req, reply) => {
    const b = body(req);
    const permissions = b.permissions;
    if (
      permissions !== undefined &&
      (!Array.isArray(permissions) || !permissions.every((p) => typeof p === 'string'))
    )
      throw new LanternError('LNT_HTTP_BAD_REQUEST', 'permissions is a list of names');
    if (typeof b.aeTitle !== 'string') throw new LanternError('LNT_HTTP_BAD_REQUEST', 'aeTitle is a string');
    for (const k of ['host', 'mode', 'certSha256'])
      if (b[k] !== undefined && typeof b[k] !== 'string')
        throw new LanternError('LNT_HTTP_BAD_REQUEST', `${k} is a string`);
    const ae = await app.aes.add(
      {
        aeTitle: b.aeTitle,
        host: (b.host as string | undefined) ?? '',
        port: int(b.port, 'port', 0, 65535, 0),
        tls: b.tls === true,
        permissions: permissions as string[] | undefined,
        mode: b.mode as string | undefined,
        certSha256: b.certSha256 as string | undefined,
      },
      req.actor,
    );
    return reply.code(201).send(ae);
  });
  server.delete<{ Params: { aet: string } }>(
    '/api/aes/:aet',
    { config: { access: 'ae.manage' } },
    async (req, reply) => {
      if (!(await app.aes.remove(req.params.aet, req.actor))) throw new NotFoundError('no such AE');
      return reply.code(204).send();
    },
  );
  server.post<{ Params: { aet: string } }>(
    '/api/aes/:aet/echo',
    { config: { access: 'ae.manage' } },
    async (req) => {
      const ae = await app.aes.find(req.params.aet);
      if (!ae) throw new NotFoundError('no such AE');
      if (!ae.host || !ae.port)
        throw new LanternError('LNT_HTTP_BAD_REQUEST', `${ae.aeTitle} has no host and port to call`);
      try {
        const r = await app.send.echo(
          { aeTitle: ae.aeTitle, host: ae.host, port: ae.port },
          { callingAeTitle: app.config.dicom.aeTitle, responseTimeoutMs: 10_000, clock: app.clock },
        );
        return { ok: r.status === 0, status: r.status, category: statusCategory(r.status), ms: r.ms };
      } catch (e) {
        // Not reachable is an answer of the test, not an error of the request.
        if (e instanceof LanternError && e.code === 'LNT_DIMSE_ASSOCIATION')
          return { ok: false, error: e.message };
        throw e;
      }
    },
  );

  // The state of the studies a study list page shows (receiving, incomplete, quarantined objects).
  server.get<{ Querystring: { study?: string | string[] } }>(
    '/api/studies/state',
    { config: { access: 'study.read' } },
    async (req) => {
      const q = req.query.study;
      const uids = (Array.isArray(q) ? q : q === undefined ? [] : [q]).flatMap((v) => v.split(','));
      for (const u of uids)
        if (!isUid(u)) throw new LanternError('LNT_HTTP_BAD_REQUEST', 'study must be Study Instance UIDs');
      return app.status.studyStates(req.actor, uids);
    },
  );

  server.get('/api/status', { config: { access: 'system.read' } }, async (req) => ({
    version: VERSION,
    node: app.config.node.id,
    aeTitle: app.config.dicom.aeTitle,
    faults: app.faults.summary,
    ...(await app.status.state(req.actor)),
  }));
  server.get<{ Querystring: { after?: string; limit?: string } }>(
    '/api/quarantine',
    { config: { access: 'system.read' } },
    async (req) =>
      app.status.quarantine(
        partyOf(req),
        int(req.query.after, 'after', 0, Number.MAX_SAFE_INTEGER, 0),
        int(req.query.limit, 'limit', 1, 500, 100),
      ),
  );

  // Integrity: the objects an integrity check found damaged, and a study checked now.
  server.get<{ Querystring: { after?: string; limit?: string } }>(
    '/api/storage/damaged',
    { config: { access: 'system.read' } },
    async (req) =>
      (
        await app.verify.damaged(
          int(req.query.after, 'after', 0, Number.MAX_SAFE_INTEGER, 0),
          int(req.query.limit, 'limit', 1, 500, 100),
          req.actor,
          partyOf(req),
        )
      ).map((r) => ({
        id: r.id,
        studyUid: r.studyUid,
        seriesUid: r.seriesUid,
        sopInstanceUid: r.sopInstanceUid,
        integrity: r.integrity,
        verifiedAt: r.verifiedAt,
      })),
  );
  server.post<{ Params: { study: string } }>(
    '/api/studies/:study/verify',
    { config: { access: 'system.read' } },
    async (req) => {
      if (!isUid(req.params.study))
        throw new LanternError('LNT_HTTP_BAD_REQUEST', 'not a Study Instance UID');
      const r = await app.verify.study(req.params.study, req.actor, partyOf(req));
      return {
        checked: r.checked,
        bytes: r.bytes,
        damaged: [...r.mismatched, ...r.missing].map((p) => ({
          sopInstanceUid: p.sopInstanceUid,
          detail: p.detail,
        })),
      };
    },
  );

  server.get<{ Params: { login: string } }>(
    '/api/users/:login/sessions',
    { config: { access: 'users.manage' } },
    async (req) => {
      const account = await app.auth.account(req.params.login);
      return (await app.auth.sessionsOf(account.id)).map(sessionView);
    },
  );
  server.delete<{ Params: { login: string; id: string } }>(
    '/api/users/:login/sessions/:id',
    { config: { access: 'users.manage' } },
    async (req, reply) => {
      const account = await app.auth.account(req.params.login);
      if (!(await app.auth.endSession(account.id, req.params.id))) throw new NotFoundError('no such session');
      return reply.code(204).send();
    },
  );
  server.get<{ Params: { login: string } }>(
    '/api/users/:login/tokens',
    { config: { access: 'users.manage' } },
    async (req) => {
      const account = await app.auth.account(req.params.login);
      return (await app.auth.tokensOf(account.id)).map(tokenView);
    },
  );
  server.delete<{ Params: { login: string; id: string } }>(
    '/api/users/:login/tokens/:id',
    { config: { access: 'users.manage' } },
    async (req, reply) => {
      const account = await app.auth.account(req.params.login);
      if (!(await app.auth.revokeToken(account.id, Number(req.params.id), req.actor)))
        throw new NotFoundError('no such token');
      return reply.code(204).send();
    },
  );
}
