import { requirePermission, type Actor } from '../core/security/actor.js';
import { QueryError } from '../core/errors.js';
import type { ArchiveIndex, QuarantineRecord } from '../ports/archive-index.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Clock } from '../ports/clock.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';

/**
 * A study's state as a radiographer checks it after a transfer: still receiving (an instance arrived within
 * the stable time), incomplete (the last transfer into it failed objects or ended abnormally: resend), and
 * how many of its objects are held in quarantine.
 */
export interface StudyState {
  readonly studyUid: string;
  readonly receiving: boolean;
  /** When the last instance was added (absent: the index holds none of the study, only quarantined ones). */
  readonly lastReceivedAt?: string;
  readonly incomplete?: { readonly reason: string; readonly at: string };
  readonly quarantined: number;
}

/** The most studies one state request asks about (a study list page). */
export const MAX_STATE_STUDIES = 200;

/** What the archive holds and how full its storage is, as the administration page shows it. */
export interface ArchiveState {
  readonly index: 'sqlite' | 'postgres';
  readonly counts: {
    readonly patients: number;
    readonly studies: number;
    readonly series: number;
    readonly instances: number;
    readonly quarantined: number;
  };
  /** Bytes of the stored objects and of the quarantined ones. */
  readonly bytes: { readonly stored: number; readonly quarantined: number };
  /** Where the objects are kept, when the store can tell. */
  readonly storage?: { readonly freeBytes: number; readonly totalBytes: number };
}

/** The archive's state and its quarantine, for the people who keep it running (system.read). */
export class StatusService {
  constructor(
    private readonly index: ArchiveIndex,
    private readonly blobs: BlobStore,
    private readonly options: {
      readonly clock: Clock;
      /** A study with an instance newer than this is still receiving. */
      readonly stableSeconds: number;
      /** Where reads of the quarantine list are recorded. */
      readonly audit?: ClinicalAudit;
    },
  ) {}

  /** The state of these studies (study.read: the people who see them in the study list). */
  async studyStates(actor: Actor | undefined, studyUids: readonly string[]): Promise<StudyState[]> {
    requirePermission(actor, 'study.read');
    if (studyUids.length > MAX_STATE_STUDIES)
      throw new QueryError(`at most ${MAX_STATE_STUDIES} studies per request, not ${studyUids.length}`);
    const rows = await this.index.studyTransfers(studyUids);
    const now = this.options.clock.now().getTime();
    const out: StudyState[] = [];
    for (const uid of new Set(studyUids)) {
      const r = rows.get(uid);
      if (!r) continue;
      const last = r.lastReceivedAt ? Date.parse(r.lastReceivedAt) : NaN;
      out.push({
        studyUid: uid,
        receiving: Number.isFinite(last) && now - last < this.options.stableSeconds * 1000,
        ...(r.lastReceivedAt ? { lastReceivedAt: r.lastReceivedAt } : {}),
        ...(r.transferProblem ? { incomplete: { reason: r.transferProblem, at: r.transferProblemAt } } : {}),
        quarantined: r.quarantined,
      });
    }
    return out;
  }

  async state(actor?: Actor): Promise<ArchiveState> {
    requirePermission(actor, 'system.read');
    const [counts, bytes, storage] = await Promise.all([
      this.index.counts(),
      this.index.sizes(),
      this.blobs.capacity().catch(() => undefined),
    ]);
    return { index: this.index.dialect, counts, bytes, ...(storage ? { storage } : {}) };
  }

  /** Quarantined objects, oldest first, after `afterId` (keyset paging). */
  async quarantine(
    by: Party,
    afterId: number,
    limit: number,
  ): Promise<(QuarantineRecord & { id: number })[]> {
    requirePermission(by.kind === 'actor' ? by.actor : undefined, 'system.read');
    const records = await this.index.listQuarantine(afterId, Math.min(Math.max(1, limit), 500));
    // The records name patients and studies: reading them is recorded as any other read of patient data.
    await this.options.audit?.quarantineRead(by, records);
    return records;
  }
}
