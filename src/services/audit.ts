import { canonicalJson, chainHash, GENESIS } from '../core/audit/chain.js';
import {
  type AuditEvent,
  auditTime,
  EVENT,
  EVENT_TYPE,
  ROLE,
  type Participant,
  type ParticipantObject,
  patientObject,
  studyObject,
} from '../core/audit/events.js';
import { LanternError } from '../core/errors.js';
import type { Actor } from '../core/security/actor.js';
import type { AuditFilter, AuditRow, AuditStore } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { CheckpointLog } from '../ports/audit-checkpoints.js';

export interface AuditSettings {
  /** This installation's audit source ID (the AE title) and site. */
  readonly sourceId: string;
  readonly site: string;
  /** Emergency: let operations go on when their record cannot be written (each failure is logged). */
  readonly failOpen: boolean;
}

/**
 * The patient and study participant objects for a set of instances (SOP classes counted per study; one
 * index lookup per study, for its patient).
 */
export async function studyObjects(
  index: { findStudy(uid: string): Promise<{ patientId: string } | undefined> },
  instances: readonly { studyUid: string; sopClassUid: string }[],
): Promise<ParticipantObject[]> {
  const studies = new Map<string, Map<string, number>>();
  for (const r of instances) {
    const classes = studies.get(r.studyUid) ?? new Map<string, number>();
    classes.set(r.sopClassUid, (classes.get(r.sopClassUid) ?? 0) + 1);
    studies.set(r.studyUid, classes);
  }
  const patients = new Set<string>();
  const out: ParticipantObject[] = [];
  for (const [study, classes] of studies) {
    const s = await index.findStudy(study);
    if (s) patients.add(s.patientId);
    out.push(
      studyObject(
        study,
        [...classes].map(([uid, n]) => ({ uid, instances: n })),
      ),
    );
  }
  return [...[...patients].map((p) => patientObject(p)), ...out];
}

export type NewEvent = Omit<AuditEvent, 'at' | 'source'>;

export interface VerifyReport {
  readonly checked: number;
  /** The first record whose chain does not hold, and why. */
  readonly broken?: { readonly id: number; readonly reason: string };
}

/**
 * The audit trail: events recorded before the operation reports success (a record that cannot be written
 * fails the operation, unless the site opted for fail-open), chained by SHA-256, readable and verifiable.
 */
export class AuditService {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
    readonly settings: AuditSettings,
    private readonly onFailure: (e: Error) => void = () => undefined,
    private readonly checkpoints?: CheckpointLog,
  ) {}

  private sinceCheckpoint = 0;

  /** Writes a signed checkpoint of the chain's head (also every 100 records, and when `serve` stops). */
  async checkpoint(): Promise<void> {
    const head = await this.store.head();
    if (head && head.id > 0) await this.checkpoints?.write(head.id, head.hash, auditTime(this.clock.now()));
    this.sinceCheckpoint = 0;
  }

  /** Called after each record is written (the exporter wakes up). */
  onRecorded: () => void = () => undefined;

  /**
   * The participant for an actor: `login@site` for people, the AE title for peers, Lantern itself. A person's or service's record names the credential it acted with (session
   * or token, never a secret) and who made the token when that was someone else, then the roles.
   */
  participant(actor: Actor | undefined, requestor: boolean, address?: string): Participant {
    const a = actor ?? { kind: 'system' as const };
    const userId =
      a.kind === 'user'
        ? `${a.login}@${this.settings.site}`
        : a.kind === 'ae'
          ? a.aeTitle
          : this.settings.sourceId;
    return {
      userId,
      ...(a.kind === 'user' ? { userName: a.login, altUserId: userAltId(a) } : {}),
      requestor,
      ...(address ? { networkAccessPoint: address.replace(/^::ffff:/, '') } : {}),
    };
  }

  /** Application Activity (PS3.15 A.5.3.1): Lantern started or stopped, by `launcher` (an OS user). */
  applicationActivity(what: 'start' | 'stop', launcher: string): Promise<void> {
    return this.record({
      eventId: EVENT.applicationActivity,
      action: 'E',
      outcome: 0,
      types: [what === 'start' ? EVENT_TYPE.applicationStart : EVENT_TYPE.applicationStop],
      participants: [
        { ...this.self(false), roles: [ROLE.application] },
        { userId: `${launcher}@${this.settings.site}`, requestor: true, roles: [ROLE.applicationLauncher] },
      ],
    });
  }

  /**
   * Security Alert: audit recording started or stopped (PS3.16 CID 403: 110134, 110133); fail-open recording
   * is an emergency override, and is alerted as one.
   */
  recording(what: 'started' | 'stopped'): Promise<void> {
    const override = this.settings.failOpen && what === 'started';
    return this.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: 0,
      outcomeDescription: override
        ? 'audit.failOpen is set: operations go on when their record fails'
        : undefined,
      types: [
        what === 'started' ? EVENT_TYPE.auditRecordingStarted : EVENT_TYPE.auditRecordingStopped,
        ...(override ? [EVENT_TYPE.emergencyOverrideStarted] : []),
      ],
      participants: [{ ...this.self(true), roles: [ROLE.application] }],
    });
  }

  /** Lantern as a participant (the archive's side of a transfer or query). */
  self(requestor = false): Participant {
    return { userId: this.settings.sourceId, requestor };
  }

  async record(e: NewEvent): Promise<void> {
    const event: AuditEvent = {
      ...e,
      at: auditTime(this.clock.now()),
      source: { id: this.settings.sourceId, site: this.settings.site },
    };
    const canonical = canonicalJson(event);
    const objects = event.objects ?? [];
    try {
      await this.store.append(
        {
          at: event.at,
          eventId: event.eventId.code,
          action: event.action,
          outcome: event.outcome,
          userId: event.participants.find((p) => p.requestor)?.userId ?? '',
          patientIds: objects.filter((o) => o.typeCode === 1 && o.role === 1).map((o) => o.id),
          studyUids: objects.filter((o) => o.idType.code === '110180').map((o) => o.id),
          event: canonical,
        },
        (prev, id) => chainHash(prev, id, canonical),
      );
      this.onRecorded();
      if (this.checkpoints && ++this.sinceCheckpoint >= 100) await this.checkpoint();
    } catch (err) {
      this.onFailure(err as Error);
      if (this.settings.failOpen) return;
      throw new LanternError('LNT_AUDIT_FAILED', 'the audit record could not be written', { cause: err });
    }
  }

  async list(
    filter: AuditFilter,
    limit: number,
    offset: number,
  ): Promise<{ id: number; event: AuditEvent }[]> {
    const rows = await this.store.list(filter, limit, offset);
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as AuditEvent }));
  }

  /** Recomputes the whole chain; names the first record that does not hold. */
  async verify(): Promise<VerifyReport> {
    let prev = GENESIS;
    let expectId = 1;
    let checked = 0;
    for (;;) {
      const rows: AuditRow[] = await this.store.scan(expectId - 1, 1000);
      if (!rows.length) break;
      for (const r of rows) {
        checked++;
        if (r.id !== expectId)
          return { checked, broken: { id: expectId, reason: `record ${expectId} is missing` } };
        if (r.prevHash !== prev)
          return { checked, broken: { id: r.id, reason: 'it does not chain to the record before it' } };
        let canonical: string;
        try {
          canonical = canonicalJson(JSON.parse(r.event));
        } catch {
          return { checked, broken: { id: r.id, reason: 'its event is not valid JSON' } };
        }
        if (canonical !== r.event || chainHash(prev, r.id, r.event) !== r.hash) {
          return { checked, broken: { id: r.id, reason: 'its content does not match its hash' } };
        }
        // The indexed columns must say what the event says.
        const e = JSON.parse(r.event) as AuditEvent;
        if (
          e.eventId.code !== r.eventId ||
          e.at !== r.at ||
          e.outcome !== r.outcome ||
          e.action !== r.action
        ) {
          return { checked, broken: { id: r.id, reason: 'its columns differ from its event' } };
        }
        prev = r.hash;
        expectId++;
      }
    }
    const head = await this.store.head();
    if (head && (head.id !== expectId - 1 || head.hash !== prev)) {
      return { checked, broken: { id: expectId, reason: `records after ${expectId - 1} were removed` } };
    }
    // Signed checkpoints: each must verify, and the chain must still have the hash it vouched for.
    for (const c of (await this.checkpoints?.read()) ?? []) {
      if (!c.signed)
        return { checked, broken: { id: c.id, reason: 'a checkpoint signature does not verify' } };
      const [r] = await this.store.scan(c.id - 1, 1);
      if (!r || r.id !== c.id || r.hash !== c.hash) {
        return { checked, broken: { id: c.id, reason: `it differs from the signed checkpoint of ${c.at}` } };
      }
    }
    return { checked };
  }
}

/** AlternativeUserID of an account's participant: `token 12; issued by admin; roles radiographer`. */
function userAltId(a: Extract<Actor, { kind: 'user' }>): string {
  const roles = a.roles.join(',');
  if (!a.credential) return roles;
  return [a.credential, ...(a.issuedBy ? [`issued by ${a.issuedBy}`] : []), `roles ${roles}`].join('; ');
}
