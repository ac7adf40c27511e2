import { EVENT } from '../core/audit/events.js';
import type { AuditEvent } from '../core/audit/events.js';
import { QueryError } from '../core/errors.js';
import type { AuditFilter } from '../ports/audit.js';
import type { AuditService } from './audit.js';

export type ReportRow = Record<string, string | number>;

const MAX = 100_000;

function requestor(e: AuditEvent) {
  return e.participants.find((p) => p.requestor);
}
const studies = (e: AuditEvent) => (e.objects ?? []).filter((o) => o.idType.code === '110180');
const patients = (e: AuditEvent) =>
  (e.objects ?? []).filter((o) => o.typeCode === 1 && o.role === 1).map((o) => o.id);
const instances = (e: AuditEvent) =>
  studies(e).reduce((n, s) => n + (s.sopClasses ?? []).reduce((m, c) => m + c.instances, 0), 0);

function line(e: AuditEvent): ReportRow {
  const r = requestor(e);
  return {
    at: e.at,
    event: e.eventId.display,
    action: e.action,
    outcome: e.outcome,
    user: r?.userId ?? '',
    address: r?.networkAccessPoint ?? '',
    patients: patients(e).join(';'),
    studies: studies(e)
      .map((s) => s.id)
      .join(';'),
    instances: instances(e),
    detail: e.outcomeDescription ?? '',
  };
}

export const REPORTS = [
  'patient-access',
  'user-activity',
  'failed-logins',
  'exports',
  'deletions',
  'daily-transfers',
  'security-alerts',
] as const;
export type ReportName = (typeof REPORTS)[number];

/** The reports an auditor asks for, over the audit trail. */
export class AuditReports {
  constructor(private readonly audit: AuditService) {}

  private async events(filter: AuditFilter): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    for (let offset = 0; offset < MAX; offset += 1000) {
      const page = await this.audit.list(filter, 1000, offset);
      out.push(...page.map((p) => p.event));
      if (page.length < 1000) break;
    }
    return out.reverse(); // oldest first
  }

  async run(
    name: string,
    q: { patient?: string; user?: string; from?: string; to?: string; date?: string },
  ): Promise<ReportRow[]> {
    const range = { from: q.from, to: q.to };
    switch (name as ReportName) {
      case 'patient-access': {
        if (!q.patient) throw new QueryError('patient-access needs patient=<Patient ID>');
        const access = new Set([
          EVENT.instancesAccessed.code,
          EVENT.instancesTransferred.code,
          EVENT.export.code,
          EVENT.studyDeleted.code,
        ]);
        return (await this.events({ ...range, patientId: q.patient }))
          .filter((e) => access.has(e.eventId.code))
          .map(line);
      }
      case 'user-activity':
        if (!q.user) throw new QueryError('user-activity needs user=<login@site or AE title>');
        return (await this.events({ ...range, userId: q.user })).map(line);
      case 'failed-logins':
        return (await this.events({ ...range, eventId: EVENT.userAuthentication.code }))
          .filter((e) => e.outcome !== 0)
          .map(line);
      case 'security-alerts':
        // Refusals (requests, re-authentication, associations, commitment), lockouts and gaps in the
        // checkpoints: every Security Alert that did not report a success.
        return (await this.events({ ...range, eventId: EVENT.securityAlert.code }))
          .filter((e) => e.outcome !== 0)
          .map(line);
      case 'exports':
        return (await this.events({ ...range, eventId: EVENT.export.code })).map(line);
      case 'deletions':
        return (await this.events({ ...range, eventId: EVENT.studyDeleted.code })).map(line);
      case 'daily-transfers': {
        const day = q.date ?? new Date().toISOString().slice(0, 10);
        if (!/^\d{4}-\d\d-\d\d$/.test(day)) throw new QueryError('date is YYYY-MM-DD');
        const events = await this.events({
          eventId: EVENT.instancesTransferred.code,
          from: `${day}T00:00:00.000+00:00`,
          to: `${day}T23:59:59.999+00:00`,
        });
        const by = new Map<string, { received: number; sent: number; failures: number }>();
        for (const e of events) {
          // The peer: the other end of the transfer (the destination of a send, the source of a receipt), not
          // Lantern itself (the audit source).
          const role = e.action === 'C' ? '110153' : '110152';
          const others = e.participants.filter((p) => p.userId !== e.source.id);
          const peer = (others.find((p) => p.roles?.some((r) => r.code === role)) ?? others[0])?.userId ?? '';
          const t = by.get(peer) ?? { received: 0, sent: 0, failures: 0 };
          if (e.action === 'C') t.received += instances(e);
          else t.sent += instances(e);
          if (e.outcome !== 0) t.failures++;
          by.set(peer, t);
        }
        return [...by]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([peer, t]) => ({ date: day, peer, ...t }));
      }
      default:
        throw new QueryError(`reports: ${REPORTS.join(', ')}`);
    }
  }
}
