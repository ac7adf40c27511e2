import {
  type Action,
  type Code,
  EVENT,
  EVENT_TYPE,
  OBJECT_ID,
  type Participant,
  patientObject,
  ROLE,
  studyObject,
} from '../core/audit/events.js';
import type { Actor } from '../core/security/actor.js';
import type { Clock } from '../ports/clock.js';
import { type AuditService, studyObjects } from './audit.js';
import type { RefusalKind, SecurityAlerts } from './security-alerts.js';

/**
 * Who takes part in an audited operation, whatever the transport: an actor (a person by account, Lantern
 * itself) from an address, a DICOM peer by AE title (with the account its user identity proved), or the
 * operating-system user running a command.
 */
export type Party =
  | { readonly kind: 'actor'; readonly actor: Actor | undefined; readonly address?: string }
  | { readonly kind: 'peer'; readonly aeTitle: string; readonly address: string; readonly login?: string }
  | { readonly kind: 'os-user'; readonly user: string };

/**
 * The instances an event is about: the study and SOP class of each; the patient is looked up unless the
 * instance says (objects received carry their own), and the instance is named when the event names them.
 */
export interface AuditedInstance {
  readonly studyUid: string;
  readonly sopClassUid: string;
  readonly sopInstanceUid?: string;
  readonly patientId?: string;
}

/** An instance a transfer into the archive acknowledged: what the archive did with it. */
export interface ReceivedObject extends AuditedInstance {
  readonly sopInstanceUid: string;
  readonly patientId: string;
  readonly status: 'stored' | 'duplicate' | 'quarantined';
}

/**
 * The PS3.15 A.5 events of the clinical operations, built here once for DIMSE, DICOMweb, the command line and
 * the web app alike: queries, instances sent or read, instances received or imported, storage commitment,
 * and the admission of DICOM peers. The services record them (query, retrieve, ingest, commitment); the
 * transports say only who asked and when a batch ends.
 */
/** The most (person, study) reads remembered for coalescing; the oldest are forgotten first. */
const MAX_REMEMBERED_READS = 20_000;

export interface ClinicalAuditOptions {
  /**
   * Reads ('accessed') of the same studies by the same person from the same address within this many
   * milliseconds are one event: a viewer opening a study reads its metadata, thumbnails and every frame, and
   * the trail records that the study was opened, not each request. 0: every read is an event.
   */
  readonly accessWindowMs?: number;
  /** Where refusals go (rate-limited Security Alerts). */
  readonly alerts: SecurityAlerts;
  readonly clock?: Clock;
}

export class ClinicalAudit {
  private readonly reads = new Map<string, number>();

  constructor(
    private readonly audit: AuditService,
    private readonly index: { findStudy(uid: string): Promise<{ patientId: string } | undefined> },
    private readonly options: ClinicalAuditOptions,
  ) {}

  /** Whether a read by `by` of these studies is new (not within the window of the same read before). */
  private newRead(by: Party, instances: readonly AuditedInstance[]): boolean {
    const window = this.options.accessWindowMs ?? 0;
    if (window <= 0 || by.kind !== 'actor' || !by.actor || by.actor.kind !== 'user') return true;
    const studies = [...new Set(instances.map((i) => i.studyUid))].sort().join('\\');
    const key = `${by.actor.accountId}|${by.actor.via}|${by.address ?? ''}|${studies}`;
    const now = (this.options.clock?.now() ?? new Date()).getTime();
    const at = this.reads.get(key);
    if (at !== undefined && now - at < window) return false;
    this.reads.delete(key);
    this.reads.set(key, now);
    if (this.reads.size > MAX_REMEMBERED_READS) this.reads.delete(this.reads.keys().next().value!);
    return true;
  }

  participant(by: Party, requestor: boolean): Participant {
    switch (by.kind) {
      case 'actor':
        return this.audit.participant(by.actor, requestor, by.address);
      case 'peer':
        return {
          userId: by.aeTitle,
          ...(by.login ? { altUserId: `${by.login}@${this.audit.settings.site}` } : {}),
          requestor,
          networkAccessPoint: by.address.replace(/^::ffff:/, ''),
        };
      case 'os-user':
        return { userId: `${by.user}@${this.audit.settings.site}`, requestor };
    }
  }

  /** Something refused for security (an association, a commitment request): a rate-limited Security Alert. */
  async refused(by: Party, kind: RefusalKind, what: string): Promise<void> {
    await this.options.alerts.refused({ kind, by: this.participant(by, true), what });
  }

  /** A DICOM peer admitted or refused (Security Alert, node authentication; refusals rate-limited). */
  async association(peer: Party, accepted: boolean, reason?: string): Promise<void> {
    if (!accepted) return this.refused(peer, 'association', `association rejected: ${reason ?? ''}`);
    return this.audit.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: 0,
      outcomeDescription: 'association accepted',
      types: [EVENT_TYPE.nodeAuthentication],
      participants: [this.participant(peer, true), this.audit.self()],
    });
  }

  /** A query, before it runs (PS3.15 A.5.3.12): the information model and the query, base64. */
  queried(by: Party, sopClassUid: string, query: Uint8Array | string): Promise<void> {
    return this.audit.record({
      eventId: EVENT.query,
      action: 'E',
      outcome: 0,
      participants: [this.participant(by, true), this.audit.self()],
      objects: [
        {
          typeCode: 2,
          role: 24,
          idType: OBJECT_ID.sopClassUid,
          id: sopClassUid,
          query: Buffer.from(query).toString('base64'),
        },
      ],
    });
  }

  /**
   * Instances about to leave the archive ('transferred': whole objects, to `by` or to `destination`) or to
   * be read ('accessed': metadata, frames, rendered images, bulk data).
   */
  async sent(
    by: Party,
    instances: readonly AuditedInstance[],
    kind: 'transferred' | 'accessed',
    destination?: string,
  ): Promise<void> {
    if (!instances.length) return;
    if (kind === 'accessed' && !this.newRead(by, instances)) return;
    const elsewhere = kind === 'transferred' && destination !== undefined && destination !== aeOf(by);
    await this.audit.record({
      eventId: kind === 'transferred' ? EVENT.instancesTransferred : EVENT.instancesAccessed,
      action: 'R',
      outcome: 0,
      participants: [
        {
          ...this.participant(by, true),
          roles: kind === 'transferred' && !elsewhere ? [ROLE.destination] : undefined,
        },
        { ...this.audit.self(), roles: kind === 'transferred' ? [ROLE.source] : undefined },
        ...(elsewhere ? [{ userId: destination!, requestor: false, roles: [ROLE.destination] }] : []),
      ],
      objects: await studyObjects(this.index, instances),
    });
  }

  /**
   * Instances received (C-STORE, STOW-RS), each named by its SOP Instance UID: those acknowledged (stored,
   * already held, or held in quarantine), and how many were not. `from` is the sender, or its participant
   * as recorded with the objects (a transfer recorded by the start-up recovery); `ended` says how the
   * transfer ended when not by its sender's release. Resolves to whether the record was written (or there
   * was nothing to record).
   */
  async received(
    from: Party | Participant,
    acknowledged: readonly ReceivedObject[],
    failed: number,
    ended?: string,
  ): Promise<boolean> {
    if (!acknowledged.length && !failed) return true;
    const quarantined = acknowledged.filter((o) => o.status === 'quarantined').length;
    const notes = [
      failed ? `${failed} object(s) not stored` : undefined,
      quarantined ? `${quarantined} object(s) held in quarantine` : undefined,
      ended,
    ].filter(Boolean);
    return this.audit.recorded({
      eventId: EVENT.instancesTransferred,
      action: 'C',
      outcome: failed === 0 ? 0 : acknowledged.length ? 4 : 8,
      outcomeDescription: notes.length ? notes.join('; ') : undefined,
      participants: [
        { ...this.participantOf(from), roles: [ROLE.source] },
        { ...this.audit.self(), roles: [ROLE.destination] },
      ],
      objects: await studyObjects(this.index, acknowledged, true),
    });
  }

  /** The participant a party is recorded as (a requestor), or a participant as it was recorded. */
  participantOf(from: Party | Participant): Participant {
    return 'kind' in from ? this.participant(from, true) : from;
  }

  /**
   * Objects the start-up recovery removed (PS3.15 A.5.3.3 DICOM Instances Accessed, action D): their index
   * rows survived a crash but their files did not, and they were never acknowledged. Recorded by Lantern
   * itself, before the rows go (the patient is read from them).
   */
  async recovered(removed: readonly AuditedInstance[]): Promise<void> {
    if (!removed.length) return;
    await this.audit.record({
      eventId: EVENT.instancesAccessed,
      action: 'D',
      outcome: 0,
      outcomeDescription: `start-up recovery: ${removed.length} object(s) whose file did not survive a crash removed (never acknowledged)`,
      participants: [this.audit.self(true)],
      objects: await studyObjects(this.index, removed),
    });
  }

  /**
   * An operation on a patient's records refused before it began (the patient not identified, say): the
   * operation's own event (Patient Record, Study Deleted, Export), outcome 4, with why.
   */
  async refusedOperation(
    by: Party,
    patientId: string,
    operation: { readonly eventId: Code; readonly action: Action; readonly name: string },
    why: string,
  ): Promise<void> {
    await this.audit.record({
      eventId: operation.eventId,
      action: operation.action,
      outcome: 4,
      outcomeDescription: `${operation.name} refused: ${why}`,
      participants: [this.participant(by, true), this.audit.self()],
      objects: [patientObject(patientId)],
    });
  }

  /**
   * An operation on patients' records carried out (PS3.15 A.5.3.9 Patient Record, update): who asked (as
   * recorded when it was asked for: it may be carried out after a restart), what it did, the patients and
   * studies it touched.
   */
  async changed(
    by: Participant,
    operation: { readonly eventId: Code; readonly action: Action },
    description: string,
    patientIds: readonly string[],
    studyUids: readonly string[],
  ): Promise<void> {
    await this.audit.record({
      eventId: operation.eventId,
      action: operation.action,
      outcome: 0,
      outcomeDescription: description,
      participants: [{ ...by, requestor: true }, this.audit.self()],
      objects: [...patientIds.map((p) => patientObject(p)), ...studyUids.map((u) => studyObject(u))],
    });
  }

  /**
   * Integrity checks that changed what the archive knows of stored objects (Security Alert, PS3.15 A.5.3.11):
   * objects found damaged (their bytes differ from the SHA-256 recorded at storage, or their file is
   * missing: outcome 8, serious failure), and objects found whole again (restored: outcome 0). By Lantern
   * itself, or by who asked for the check.
   */
  async integrity(
    by: Party | undefined,
    damaged: readonly { readonly row: AuditedInstance; readonly detail: string }[],
    restored: readonly AuditedInstance[],
  ): Promise<void> {
    const who = by ? [this.participant(by, true), this.audit.self()] : [this.audit.self(true)];
    for (const detail of [...new Set(damaged.map((d) => d.detail))]) {
      const rows = damaged.filter((d) => d.detail === detail).map((d) => d.row);
      await this.audit.record({
        eventId: EVENT.securityAlert,
        action: 'E',
        outcome: 8,
        outcomeDescription: `integrity check: ${rows.length} stored object(s) damaged (${detail}); not served until restored`,
        participants: who,
        objects: await studyObjects(this.index, rows, true),
      });
    }
    if (restored.length) {
      await this.audit.record({
        eventId: EVENT.securityAlert,
        action: 'E',
        outcome: 0,
        outcomeDescription: `integrity check: ${restored.length} stored object(s) whole again (restored); served again`,
        participants: who,
        objects: await studyObjects(this.index, restored, true),
      });
    }
  }

  /**
   * The quarantine list read (DICOM Instances Accessed, PS3.15 A.5.3.3): its records name the patients and
   * studies of objects held back, so reading them is recorded like any read of them.
   */
  async quarantineRead(
    by: Party,
    records: readonly { readonly studyUid: string; readonly patientId: string }[],
  ): Promise<void> {
    if (!records.length) return;
    const patients = [...new Set(records.map((r) => r.patientId))];
    const studies = [...new Set(records.map((r) => r.studyUid))];
    await this.audit.record({
      eventId: EVENT.instancesAccessed,
      action: 'R',
      outcome: 0,
      outcomeDescription: `quarantine list: ${records.length} record(s)`,
      participants: [this.participant(by, true), this.audit.self()],
      objects: [...patients.map((p) => patientObject(p)), ...studies.map((u) => studyObject(u))],
    });
  }

  /** An import from files (PS3.15 A.5.3.7): who, from where, which patients and studies. */
  async imported(
    by: Party,
    sources: readonly string[],
    stored: readonly AuditedInstance[],
    rejected: number,
  ): Promise<void> {
    await this.audit.record({
      eventId: EVENT.import,
      action: 'C',
      outcome: rejected ? (stored.length ? 4 : 8) : 0,
      outcomeDescription: rejected ? `${rejected} file(s) rejected` : undefined,
      participants: [
        { ...this.participant(by, true), roles: [ROLE.destination] },
        { userId: sources.join(';').slice(0, 256), requestor: false, roles: [ROLE.source] },
        this.audit.self(),
      ],
      objects: await studyObjects(this.index, stored),
    });
  }

  /** Storage commitment: the instances checked for the requester, before its report is sent. */
  async committed(by: Party, committed: readonly AuditedInstance[], failed: number): Promise<void> {
    await this.audit.record({
      eventId: EVENT.instancesAccessed,
      action: 'R',
      outcome: failed ? 4 : 0,
      outcomeDescription: `storage commitment: ${committed.length} committed, ${failed} failed`,
      participants: [this.participant(by, true), this.audit.self()],
      objects: await studyObjects(this.index, committed),
    });
  }
}

function aeOf(by: Party): string | undefined {
  return by.kind === 'peer' ? by.aeTitle : undefined;
}
