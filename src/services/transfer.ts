import { randomUUID } from 'node:crypto';
import type { Party, ReceivedObject } from './clinical-audit.js';

/**
 * One transfer into the archive: the C-STOREs of a DICOM association, or a STOW-RS request. The ingest
 * service adds each object it acknowledges (in memory, and in the index with the object itself, so that a
 * crash leaves no acknowledged object the trail will not name); the transport counts what it refused and
 * ends the transfer, which writes its audit record (`IngestService.endTransfer`). A long transfer is
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
}

/** The most objects one record of a transfer names. */
export const TRANSFER_PART = 1000;
