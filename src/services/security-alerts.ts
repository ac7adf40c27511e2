import { EVENT, EVENT_TYPE, type Participant } from '../core/audit/events.js';
import type { Clock } from '../ports/clock.js';
import type { AuditService } from './audit.js';

/** What was refused: an HTTP request (401, 403), a re-authentication, an association, a commitment. */
export type RefusalKind = 'access' | 'reauthentication' | 'association' | 'commitment';

export interface Refusal {
  readonly kind: RefusalKind;
  /** Who asked, as the trail names them (the address at least). */
  readonly by: Participant;
  /** What was refused and why, without patient data (a route as declared, an error code, a reason). */
  readonly what: string;
}

export interface SecurityAlertSettings {
  /** One record per source and kind in this window; the rest are counted into the next (default 60 s). */
  readonly windowMs?: number;
  /** Sources remembered at most (the oldest forgotten first), so that a spray of addresses stays bounded. */
  readonly maxSources?: number;
}

const TYPE: Record<RefusalKind, (typeof EVENT_TYPE)[keyof typeof EVENT_TYPE]> = {
  access: EVENT_TYPE.useOfRestrictedFunction,
  reauthentication: EVENT_TYPE.useOfRestrictedFunction,
  association: EVENT_TYPE.nodeAuthentication,
  commitment: EVENT_TYPE.useOfRestrictedFunction,
};

/**
 * Security failures as Security Alert events (PS3.15 A.5.3.11, outcome 4): refused HTTP requests, failed
 * re-authentication, refused associations and storage commitment refusals, from every transport alike.
 * Rate-limited per source (its address, else its user or AE title) and kind: the first refusal in a window
 * is recorded at once; later ones in the window are counted, and the next record after the window says how
 * many there were and since when, so a flood costs the trail one record a minute per source, not one per
 * request.
 */
export class SecurityAlerts {
  private readonly sources = new Map<string, { start: number; suppressed: number; since: string }>();
  private readonly windowMs: number;
  private readonly maxSources: number;

  constructor(
    private readonly audit: AuditService,
    private readonly clock: Clock,
    settings: SecurityAlertSettings = {},
  ) {
    this.windowMs = settings.windowMs ?? 60_000;
    this.maxSources = settings.maxSources ?? 10_000;
  }

  async refused(r: Refusal): Promise<void> {
    const source = r.by.networkAccessPoint ?? r.by.userId;
    const key = `${r.kind}|${source}`;
    const now = this.clock.now().getTime();
    const seen = this.sources.get(key);
    if (seen && now - seen.start < this.windowMs) {
      seen.suppressed++;
      return;
    }
    this.sources.delete(key);
    this.sources.set(key, { start: now, suppressed: 0, since: new Date(now).toISOString() });
    if (this.sources.size > this.maxSources) this.sources.delete(this.sources.keys().next().value!);
    const more = seen?.suppressed
      ? ` (and ${seen.suppressed} more refused from this source since ${seen.since}, not recorded one by one)`
      : '';
    await this.audit.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: 4,
      outcomeDescription: `${r.kind} refused: ${r.what}${more}`.slice(0, 1024),
      types: [TYPE[r.kind]],
      participants: [{ ...r.by, requestor: true }, this.audit.self()],
    });
  }
}
