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
import type { CheckpointLog, SignedCheckpoint } from '../ports/audit-checkpoints.js';

export interface AuditSettings {
  /** This installation's audit source ID (the AE title) and site. */
  readonly sourceId: string;
  readonly site: string;
  /** Emergency: let operations go on when their record cannot be written (each failure is logged). */
  readonly failOpen: boolean;
  /** A signed checkpoint after this many records at most (default 100). */
  readonly checkpointEvery?: number;
  /** ... and this many minutes at most while records come (default 5; `serve` also checks on a timer). */
  readonly checkpointMinutes?: number;
}

/** How `verify` checks: the witness's public key, and the time it runs at. */
export interface VerifyOptions {
  /** A copy of the checkpoint public key kept apart (PEM); else the signing key's own. */
  readonly publicKeyPem?: string;
}

/**
 * The patient and study participant objects for a set of instances (SOP classes counted per study). The
 * patient is the one the instances carry when they say (objects received), else the study's in the index
 * (one lookup per study). `named`: each SOP class also lists its instances' UIDs.
 */
export async function studyObjects(
  index: { findStudy(uid: string): Promise<{ patientId: string } | undefined> },
  instances: readonly {
    studyUid: string;
    sopClassUid: string;
    sopInstanceUid?: string;
    patientId?: string;
  }[],
  named = false,
): Promise<ParticipantObject[]> {
  const studies = new Map<string, { lookup: boolean; classes: Map<string, string[]> }>();
  const patients = new Set<string>();
  for (const r of instances) {
    let study = studies.get(r.studyUid);
    if (!study) studies.set(r.studyUid, (study = { lookup: false, classes: new Map() }));
    if (r.patientId !== undefined) patients.add(r.patientId);
    else study.lookup = true;
    const uids = study.classes.get(r.sopClassUid) ?? [];
    uids.push(r.sopInstanceUid ?? '');
    study.classes.set(r.sopClassUid, uids);
  }
  const out: ParticipantObject[] = [];
  for (const [study, { lookup, classes }] of studies) {
    const s = lookup ? await index.findStudy(study) : undefined;
    if (s) patients.add(s.patientId);
    out.push(
      studyObject(
        study,
        [...classes].map(([uid, uids]) => ({
          uid,
          instances: uids.length,
          ...(named ? { instanceUids: uids.filter(Boolean) } : {}),
        })),
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
  /** Records after the last checkpoint, within its interval (a running archive's latest). */
  readonly unwitnessed?: number;
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
  ) {
    this.lastCheckpointMs = clock.now().getTime();
  }

  private sinceCheckpoint = 0;
  /** From the start: the first records of a process are checkpointed with the others, within the interval. */
  private lastCheckpointMs: number;
  private lastCheckpointId = -1;
  /** The chain's head before this process wrote anything (read at its first record or at resume). */
  private startHead: number | undefined;
  private gapChecked = false;

  private get everyRecords(): number {
    return this.settings.checkpointEvery ?? 100;
  }

  /** Minutes between checkpoints at most while records come in. */
  get checkpointMinutes(): number {
    return this.settings.checkpointMinutes ?? 5;
  }

  /**
   * Writes a signed checkpoint of the chain's head (also every `checkpointEvery` records and every
   * `checkpointMinutes` minutes while records come, and when `serve` stops).
   */
  async checkpoint(): Promise<void> {
    if (!this.gapChecked) {
      this.gapChecked = true;
      // Records younger than the interval may be a running process's (`serve` beside a command): only
      // older ones were surely left by a stop.
      await this.recordGap((this.checkpointMinutes + 2) * 60_000);
    }
    const head = await this.store.head();
    if (head && head.id > 0) {
      const written = await this.checkpoints?.write(head.id, head.hash, auditTime(this.clock.now()));
      if (written) this.onCheckpoint(written);
    }
    this.sinceCheckpoint = 0;
    this.lastCheckpointMs = this.clock.now().getTime();
    this.lastCheckpointId = head?.id ?? 0;
  }

  /** A checkpoint when this process wrote records since its last one (at close: a command's records). */
  async checkpointIfWritten(): Promise<void> {
    if (this.checkpoints && this.sinceCheckpoint > 0) await this.checkpoint();
  }

  /** A checkpoint when records were written since the last one (the timer of `serve`). */
  async checkpointIfMoved(): Promise<void> {
    const head = await this.store.head();
    if (head && head.id > 0 && head.id !== this.lastCheckpointId) await this.checkpoint();
  }

  /**
   * At start (before anything else is recorded): the records written after the last checkpoint by a process
   * that stopped without writing one (killed, power lost) are vouched for by no signature; that is recorded
   * (a Security Alert naming them) before a checkpoint covers the chain again, so the gap stays visible. Any
   * process does the same before its first checkpoint (a command run after such a stop).
   */
  async resume(): Promise<void> {
    if (!this.checkpoints) return;
    this.startHead ??= (await this.store.head())?.id ?? 0;
    if (!this.gapChecked) {
      // At `serve`'s start whatever is unsigned is taken as left by a stop (a command recording at that very
      // moment would be named too: a false alarm, never a hidden gap).
      this.gapChecked = true;
      await this.recordGap(0);
    }
    await this.checkpoint();
  }

  /**
   * Before this process's first checkpoint: records that an earlier process left after its last checkpoint
   * (it stopped without one) are named in a Security Alert, so that the signature now covering them does
   * not hide that none did before.
   */
  private async recordGap(minAgeMs: number): Promise<void> {
    if (!this.checkpoints) return;
    const upTo = this.startHead ?? (await this.store.head())?.id ?? 0;
    if (upTo === 0) return;
    const last = (await this.checkpoints.read()).at(-1);
    const from = last && last.id > 0 ? last.id + 1 : 1;
    if (from > upTo) return;
    const [first] = await this.store.scan(from - 1, 1);
    const old = !!first && Date.parse(first.at) <= this.clock.now().getTime() - minAgeMs;
    if (old) {
      await this.record({
        eventId: EVENT.securityAlert,
        action: 'E',
        outcome: 4,
        outcomeDescription: `audit records ${from} to ${upTo} were written after the last checkpoint by a process that stopped without one: no signature vouches for them`,
        types: [EVENT_TYPE.securityConfiguration],
        participants: [{ ...this.self(true), roles: [ROLE.application] }],
      });
    }
  }

  /** Called after each record is written (the exporter wakes up). */
  onRecorded: () => void = () => undefined;

  /** Called after each checkpoint is written (the exporter sends it to the audit repository too). */
  onCheckpoint: (c: SignedCheckpoint) => void = () => undefined;

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
    await this.recorded(e);
  }

  /**
   * Records an event, as `record` does, resolving to whether it was written (false only under `failOpen`,
   * which lets the operation go on without it).
   */
  async recorded(e: NewEvent): Promise<boolean> {
    const event: AuditEvent = {
      ...e,
      at: auditTime(this.clock.now()),
      source: { id: this.settings.sourceId, site: this.settings.site },
    };
    const canonical = canonicalJson(event);
    if (this.checkpoints && this.startHead === undefined)
      this.startHead = (await this.store.head().catch(() => undefined))?.id ?? 0;
    let written = false;
    try {
      await this.store.append({ ...columnsOf(event), event: canonical }, (prev, id) =>
        chainHash(prev, id, canonical),
      );
      written = true;
      this.onRecorded();
      if (
        this.checkpoints &&
        (++this.sinceCheckpoint >= this.everyRecords ||
          this.clock.now().getTime() - this.lastCheckpointMs >= this.checkpointMinutes * 60_000)
      )
        await this.checkpoint();
    } catch (err) {
      this.onFailure(err as Error);
      if (this.settings.failOpen) return written;
      throw new LanternError('LNT_AUDIT_FAILED', 'the audit record could not be written', { cause: err });
    }
    return true;
  }

  async list(
    filter: AuditFilter,
    limit: number,
    offset: number,
  ): Promise<{ id: number; event: AuditEvent }[]> {
    const rows = await this.store.list(filter, limit, offset);
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as AuditEvent }));
  }

  /**
   * Recomputes the whole chain and checks every record's indexed columns (the time, event, outcome, action,
   * user, patients and studies the reports and filters read) against its hashed event; then the signed
   * checkpoints: at least one when there are records, each signed, each still matching the chain, the last
   * not beyond the head, and no record after the last one older than the checkpoint interval allows. Names
   * the first record that does not hold.
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
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
        const c = columnsOf(e);
        if (
          c.eventId !== r.eventId ||
          c.at !== r.at ||
          c.outcome !== r.outcome ||
          c.action !== r.action ||
          c.userId !== r.userId ||
          c.patientIds.join('|') !== r.patientIds.join('|') ||
          c.studyUids.join('|') !== r.studyUids.join('|')
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
    if (!this.checkpoints) return { checked };
    // Signed checkpoints: each must verify, and the chain must still have the hash it vouched for.
    const checkpoints = await this.checkpoints.read(options.publicKeyPem);
    for (const c of checkpoints) {
      if (!c.signed)
        return { checked, broken: { id: c.id, reason: 'a checkpoint signature does not verify' } };
      if (c.id > checked) {
        return {
          checked,
          broken: {
            id: checked + 1,
            reason: `records after ${checked} were removed (a checkpoint of ${c.at} vouches for record ${c.id})`,
          },
        };
      }
      const [r] = await this.store.scan(c.id - 1, 1);
      if (!r || r.id !== c.id || r.hash !== c.hash) {
        return { checked, broken: { id: c.id, reason: `it differs from the signed checkpoint of ${c.at}` } };
      }
    }
    // Records after the last checkpoint: a running archive checkpoints within the interval, a stopping one
    // at its stop, a restarted one records the gap; an older tail means checkpoints were lost or removed.
    const lastId = checkpoints.at(-1)?.id ?? 0;
    if (lastId < checked) {
      const [first] = await this.store.scan(lastId, 1);
      const limit = this.clock.now().getTime() - (this.checkpointMinutes + 2) * 60_000;
      if (first && Date.parse(first.at) < limit) {
        return {
          checked,
          broken: {
            id: first.id,
            reason: checkpoints.length
              ? `records ${first.id} to ${checked} are covered by no checkpoint though written at ${first.at} and after (checkpoints lost or removed, or a stop that wrote none not yet followed by a start)`
              : `no signed checkpoint vouches for records ${first.id} to ${checked}, written at ${first.at} and after (the checkpoint file is missing or emptied)`,
          },
        };
      }
      return { checked, unwitnessed: checked - lastId };
    }
    return { checked };
  }

  /** The checkpoint public key (PEM), for an external witness. */
  publicKey(): string | undefined {
    return this.checkpoints?.publicKey();
  }
}

/** What the index keeps of an event in its own columns, for filters and reports (verify compares them). */
function columnsOf(event: AuditEvent) {
  const objects = event.objects ?? [];
  return {
    at: event.at,
    eventId: event.eventId.code,
    action: event.action,
    outcome: event.outcome,
    userId: event.participants.find((p) => p.requestor)?.userId ?? '',
    patientIds: objects.filter((o) => o.typeCode === 1 && o.role === 1).map((o) => o.id),
    studyUids: objects.filter((o) => o.idType.code === '110180').map((o) => o.id),
  };
}

/** AlternativeUserID of an account's participant: `token 12; issued by admin; roles radiographer`. */
function userAltId(a: Extract<Actor, { kind: 'user' }>): string {
  const roles = a.roles.join(',');
  if (!a.credential) return roles;
  return [a.credential, ...(a.issuedBy ? [`issued by ${a.issuedBy}`] : []), `roles ${roles}`].join('; ');
}
