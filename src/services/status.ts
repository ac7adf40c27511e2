import { requirePermission, type Actor } from '../core/security/actor.js';
import type { ArchiveIndex, QuarantineRecord } from '../ports/archive-index.js';
import type { BlobStore } from '../ports/blob-store.js';

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
  ) {}

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
    actor: Actor | undefined,
    afterId: number,
    limit: number,
  ): Promise<(QuarantineRecord & { id: number })[]> {
    requirePermission(actor, 'system.read');
    return this.index.listQuarantine(afterId, Math.min(Math.max(1, limit), 500));
  }
}
