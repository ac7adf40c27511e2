import { randomUUID } from 'node:crypto';
import type { Party, ReceivedObject } from './clinical-audit.js';

/**
 * One transfer into the archive: the C-STOREs of a DICOM association, or a STOW-RS request. The ingest
 * service adds each object it acknowledges (in memory, and in the index with the object itself, so that a
 * crash leaves no acknowledged object the trail will not name) and counts each it failed; the transport
 * counts what it refused before handing it to the service, and ends the transfer, which writes its audit record (`IngestService.endTransfer`). A long transfer is
 * recorded in parts of at most `TRANSFER_PART` objects as it goes, so that neither a record nor what is held
 * for it grows without bound.
 */
export class ReceivedTransfer {
  /** Names the transfer's rows in the index until its record is written. */
  readonly key = randomUUID();
  /** The objects acknowledged since the last part was recorded, in order, and their rows in the index. */
  acknowledged: ReceivedObject[] = [];
  rows: number[] = [];
  /** Objects not stored since the last part was recorded, and in all. */
  failed = 0;
  failedInAll = 0;
  /** Objects recorded in earlier parts. */
  recorded = 0;
  /** Every study the transfer stored into, over all its parts. */
  readonly studies = new Set<string>();
  /** Objects of the transfer being ingested. */
  private readonly underWay = new Set<Promise<unknown>>();

  /**
   * @param from the sender
   * @param party the sender as the audit trail names it (JSON), kept with each object for the recovery
   */
  constructor(
    readonly from: Party,
    readonly party: string,
  ) {}

  /** An object of the transfer that was not stored. */
  fail(): void {
    this.failed++;
    this.failedInAll++;
  }

  /**
   * Keeps `work` (an object being ingested) until it settles: the transfer's end waits for it, and counts
   * it as failed when it fails (before anyone else hears of the failure).
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.underWay.add(work);
    work.then(
      () => this.underWay.delete(work),
      () => {
        this.fail();
        this.underWay.delete(work);
      },
    );
    return work;
  }

  /**
   * Once no object of the transfer is being ingested: an association can end (aborted, say) while an
   * object whose data had all arrived is still being stored; it is acknowledged, and named, all the same.
   */
  async settled(): Promise<void> {
    while (this.underWay.size) await Promise.allSettled([...this.underWay]);
  }
}

/** The most objects one record of a transfer names. */
export const TRANSFER_PART = 1000;
