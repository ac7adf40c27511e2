import { randomUUID } from 'node:crypto';
import type { CommitmentReport } from '../core/dimse/commitment.js';
import { Status } from '../core/dimse/status.js';
import { uidFromUuid } from '../core/dicom/uid.js';
import { type SubOperationOutcome, SubOperations, storeOutcome } from '../core/dimse/sub-operations.js';
import type { DicomSender, SendOptions, StoreDestination } from '../ports/dicom-sender.js';
import type { InstanceRow } from '../ports/archive-index.js';
import type { Party } from './clinical-audit.js';
import type { RetrieveService } from './retrieve.js';

/** Progress of a send, after each instance: the counts, and the instance's outcome. */
export interface SendProgress {
  readonly counts: SubOperations;
  readonly instance: InstanceRow;
  readonly outcome: SubOperationOutcome;
}

/** What a destination committed to, of the instances asked for (PS3.4 J). */
export interface CommitmentOutcome {
  readonly transactionUid: string;
  /** The N-ACTION status: anything but 0000H means the peer refused the request (nothing is committed). */
  readonly requestStatus: number;
  readonly committed: readonly InstanceRow[];
  /** With the peer's Failure Reason. */
  readonly failed: readonly { readonly instance: InstanceRow; readonly reason: number }[];
  /** Neither committed nor failed: no report came in time, or the report left them out. */
  readonly unanswered: readonly InstanceRow[];
}

interface Waiting {
  readonly aeTitle: string;
  readonly settle: (report: CommitmentReport | undefined) => void;
}

/**
 * "Send these instances to this AE": records the transfer in the audit trail before anything goes, then
 * C-STOREs each instance as stored through the DICOM sender, counting the outcomes. C-MOVE uses it; routing,
 * forwarding and migration will.
 */
export class SendService {
  /** Storage commitment transactions waiting for their report, by Transaction UID. */
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly sender: DicomSender,
    private readonly retrieve: RetrieveService,
  ) {}

  /**
   * C-ECHO to a peer: its status and how long the association, echo and release took (the registry's "test
   * connection"). A peer that cannot be reached fails with LNT_DIMSE_ASSOCIATION, saying why.
   */
  async echo(
    to: StoreDestination,
    options: SendOptions & { readonly clock: { now(): Date } },
  ): Promise<{ status: number; ms: number }> {
    const t0 = options.clock.now().getTime();
    const status = await this.sender.echo(to, options);
    return { status, ms: options.clock.now().getTime() - t0 };
  }

  async *send(
    to: StoreDestination,
    instances: readonly InstanceRow[],
    options: SendOptions & { readonly by: Party },
  ): AsyncGenerator<SendProgress> {
    // Objects an integrity check found damaged are not sent: each is a failed sub-operation.
    const { whole, damaged } = this.retrieve.partition(instances);
    await this.retrieve.recordSent(options.by, whole, 'transferred', to.aeTitle);
    const counts = new SubOperations(instances.length);
    for (const instance of damaged) {
      counts.record('Failure');
      yield { counts, instance, outcome: 'Failure' };
    }
    if (!whole.length) return;
    const datasets = this.retrieve.datasetsInOrder(whole);
    for await (const r of this.sender.send(to, whole, datasets, options)) {
      const outcome = storeOutcome(r.status);
      counts.record(outcome);
      yield { counts, instance: r.instance, outcome };
    }
  }

  /**
   * Asks the destination to commit to keeping instances sent to it (Storage Commitment Push Model, PS3.4 J)
   * and waits up to `timeoutMs` for its report, which may come on the request's association or on a new
   * one to our listener (`reported`). Only a report from the AE asked counts.
   */
  async commit(
    to: StoreDestination,
    instances: readonly InstanceRow[],
    options: SendOptions & { readonly timeoutMs: number },
  ): Promise<CommitmentOutcome> {
    const transactionUid = uidFromUuid(randomUUID());
    let settle!: (report: CommitmentReport | undefined) => void;
    const arrived = new Promise<CommitmentReport | undefined>((r) => (settle = r));
    this.waiting.set(transactionUid, { aeTitle: to.aeTitle, settle });
    const timer = setTimeout(() => settle(undefined), options.timeoutMs);
    try {
      const requestStatus = await this.sender.requestCommitment(
        to,
        {
          transactionUid,
          refs: instances.map((i) => ({ sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid })),
        },
        { ...options, until: arrived, onReport: (r) => this.reported(r, to.aeTitle) },
      );
      if (requestStatus !== Status.Success)
        return { transactionUid, requestStatus, committed: [], failed: [], unanswered: [...instances] };
      return { transactionUid, requestStatus, ...sortOut(instances, await arrived) };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(transactionUid);
    }
  }

  /**
   * A Storage Commitment report from `fromAeTitle`, on whichever association it came. True when it answers a
   * transaction waiting here, asked of that AE; any other report is ignored (false).
   */
  reported(report: CommitmentReport, fromAeTitle: string): boolean {
    const w = this.waiting.get(report.transactionUid);
    if (!w || w.aeTitle !== fromAeTitle) return false;
    this.waiting.delete(report.transactionUid);
    w.settle(report);
    return true;
  }
}

/** The instances asked for, as the report sorts them; a report's instances that were not asked are ignored. */
function sortOut(
  instances: readonly InstanceRow[],
  report: CommitmentReport | undefined,
): Pick<CommitmentOutcome, 'committed' | 'failed' | 'unanswered'> {
  const key = (sopClassUid: string, sopInstanceUid: string) => `${sopClassUid}|${sopInstanceUid}`;
  const ok = new Set(report?.committed.map((r) => key(r.sopClassUid, r.sopInstanceUid)));
  const bad = new Map(report?.failed.map((r) => [key(r.sopClassUid, r.sopInstanceUid), r.reason]));
  const committed: InstanceRow[] = [];
  const failed: { instance: InstanceRow; reason: number }[] = [];
  const unanswered: InstanceRow[] = [];
  for (const i of instances) {
    const k = key(i.sopClassUid, i.sopInstanceUid);
    const reason = bad.get(k);
    if (reason !== undefined) failed.push({ instance: i, reason });
    else if (ok.has(k)) committed.push(i);
    else unanswered.push(i);
  }
  return { committed, failed, unanswered };
}
