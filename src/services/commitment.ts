import type { CommitmentRef } from '../core/dimse/commitment.js';
import { Status } from '../core/dimse/status.js';
import type { ArchiveIndex, InstanceRow } from '../ports/archive-index.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';
import type { RetrieveService } from './retrieve.js';

export type { CommitmentRef } from '../core/dimse/commitment.js';

export interface CommitmentResult {
  readonly committed: readonly CommitmentRef[];
  /** With the PS3.4 Failure Reason: 0112H not stored, 0119H SOP class differs, 0110H bytes no longer match. */
  readonly failed: readonly (CommitmentRef & { readonly reason: number })[];
}

/**
 * Storage commitment (PS3.4 J): the archive takes responsibility for an instance only when it is stored,
 * of the SOP class the requester names, and its bytes, read back from storage, still have the digest recorded
 * when it was received. The check is recorded in the audit trail before the answer goes out.
 */
export class CommitmentService {
  constructor(
    private readonly index: ArchiveIndex,
    private readonly retrieve: RetrieveService,
    private readonly audit?: ClinicalAudit,
  ) {}

  /** A request refused before any check (the caller may not ask): recorded as a Security Alert. */
  async refused(by: Party, why: string): Promise<void> {
    await this.audit?.refused(by, 'commitment', why);
  }

  async verify(refs: readonly CommitmentRef[], by: Party): Promise<CommitmentResult> {
    const committed: CommitmentRef[] = [];
    const rows: InstanceRow[] = [];
    const failed: (CommitmentRef & { reason: number })[] = [];
    for (const ref of refs) {
      const row = ref.sopInstanceUid ? await this.index.findInstance(ref.sopInstanceUid) : undefined;
      if (!row) failed.push({ ...ref, reason: Status.NoSuchSopInstance });
      else if (row.sopClassUid !== ref.sopClassUid)
        failed.push({ ...ref, reason: Status.ClassInstanceConflict });
      else if ((await this.retrieve.digest(row)) !== row.sha256)
        failed.push({ ...ref, reason: Status.ProcessingFailure });
      else {
        committed.push(ref);
        rows.push(row);
      }
    }
    await this.audit?.committed(by, rows, failed.length);
    return { committed, failed };
  }
}
