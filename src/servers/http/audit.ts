import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EVENT, OBJECT_ID } from '../../core/audit/events.js';
import { toFhirAuditEvent } from '../../core/audit/fhir.js';
import { QueryError } from '../../core/errors.js';
import type { App } from '../../app.js';
import type { AuditFilter } from '../../ports/audit.js';
import { AuditReports } from '../../services/audit-reports.js';

/**
 * One CSV cell: quoted when it holds a quote, comma or line break, and neutralised when a spreadsheet would
 * take it for a formula (it starts with = + - @, a tab or a carriage return: prefixed with '), since patient
 * names, IDs and user names in the trail come from outside (OWASP CSV injection).
 */
export function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function filterOf(q: Record<string, string | undefined>): AuditFilter {
  const time = (name: string) => {
    const v = q[name];
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (!Number.isFinite(t)) throw new QueryError(`${name} is a date and time (ISO 8601)`);
    return new Date(t).toISOString().replace('Z', '+00:00');
  };
  const outcome = q.outcome === undefined ? undefined : Number(q.outcome);
  if (outcome !== undefined && ![0, 4, 8, 12].includes(outcome))
    throw new QueryError('outcome is 0, 4, 8 or 12');
  // Matched literally (no wildcards); the index keeps an event's IDs between '|', so an ID given here may not
  // hold one (it would match across two IDs of one event).
  for (const name of ['patient', 'study'] as const) {
    if (q[name]?.includes('|')) throw new QueryError(`${name} is one ID, without '|'`);
  }
  return {
    from: time('from'),
    to: time('to'),
    userId: q.user,
    patientId: q.patient,
    studyUid: q.study,
    eventId: q.type,
    outcome,
  };
}

/**
 * The audit trail for auditors (audit.read): FHIR AuditEvent JSON (a Bundle) or CSV, filtered by time range,
 * user, patient ID, study UID, event type (DCM code) and outcome, paged. Reading it is itself recorded
 * (Audit Log Used).
 */
/** Audit Log Used (PS3.15 A.5.3.2): who read which part of the trail, with what filters. */
async function auditLogUsed(app: App, req: FastifyRequest, what: string): Promise<void> {
  const q = (req.query ?? {}) as Record<string, string>;
  await app.audit.record({
    eventId: EVENT.auditLogUsed,
    action: 'R',
    outcome: 0,
    participants: [app.audit.participant(req.actor, true, req.ip), app.audit.self()],
    objects: [
      {
        typeCode: 2,
        role: 13,
        idType: OBJECT_ID.nodeId,
        id: `${app.audit.settings.site}/${what}`,
        query: Buffer.from(new URLSearchParams(q).toString()).toString('base64'),
      },
    ],
  });
}

function toCsv(rows: readonly Record<string, string | number>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(String(r[c] ?? ''))).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export async function auditApi(server: FastifyInstance, app: App): Promise<void> {
  const reports = new AuditReports(app.audit);
  server.get(
    '/api/audit/reports/:name',
    { config: { access: 'audit.read' } },
    async (
      req: FastifyRequest<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>,
      reply,
    ) => {
      const q = req.query;
      const range = filterOf({ from: q.from, to: q.to, patient: q.patient });
      await auditLogUsed(app, req, `audit/reports/${req.params.name}`);
      const rows = await reports.run(req.params.name, { ...q, from: range.from, to: range.to });
      if (q.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').send(toCsv(rows));
      }
      return { report: req.params.name, rows };
    },
  );
  server.get(
    '/api/audit',
    { config: { access: 'audit.read' } },
    async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const q = req.query;
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      const offset = q.offset === undefined ? 0 : Number(q.offset);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new QueryError('limit is 1 to 1000');
      if (!Number.isInteger(offset) || offset < 0) throw new QueryError('offset is 0 or more');
      const filter = filterOf(q);
      await auditLogUsed(app, req, 'audit');
      const records = await app.audit.list(filter, limit, offset);
      if (q.format === 'csv') {
        const lines = ['id,recorded,event,type,action,outcome,user,address,patients,studies'];
        for (const { id, event: e } of records) {
          const requestor = e.participants.find((p) => p.requestor);
          lines.push(
            [
              String(id),
              e.at,
              e.eventId.display,
              (e.types ?? []).map((t) => t.display).join(';'),
              e.action,
              String(e.outcome),
              requestor?.userId ?? '',
              requestor?.networkAccessPoint ?? '',
              (e.objects ?? [])
                .filter((o) => o.role === 1)
                .map((o) => o.id)
                .join(';'),
              (e.objects ?? [])
                .filter((o) => o.idType.code === '110180')
                .map((o) => o.id)
                .join(';'),
            ]
              .map(csvCell)
              .join(','),
          );
        }
        return reply
          .type('text/csv; charset=utf-8')
          .header('Content-Disposition', 'attachment; filename="audit.csv"')
          .send(`${lines.join('\r\n')}\r\n`);
      }
      return reply.type('application/fhir+json').send({
        resourceType: 'Bundle',
        type: 'searchset',
        entry: records.map(({ id, event }) => ({ resource: toFhirAuditEvent(id, event) })),
      });
    },
  );
}
