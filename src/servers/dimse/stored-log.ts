import type { IngestService } from '../../services/ingest.js';
import type { ReceivedTransfer } from '../../services/transfer.js';
import { peerParty } from './actor.js';
import type { AssociationInfo } from '../../net/dimse/association.js';

/**
 * The C-STOREs of each association as one transfer into the archive (PS3.15 A.5.3.4 describes the event
 * per transfer, not per object): the ingest service records each object it acknowledges for the transfer,
 * this counts what the storage service refused, and the transfer's record is written when the association
 * ends.
 */
export class StoredPerAssociation {
  private readonly transfers = new WeakMap<AssociationInfo, ReceivedTransfer>();
  /** Associations whose transfer was ended: a C-STORE failing after it (its data cut off) is not a new one. */
  private readonly over = new WeakSet<AssociationInfo>();
  /** Records being written (`settled` waits for them). */
  private readonly ending = new Set<Promise<void>>();

  constructor(private readonly ingest: IngestService) {}

  /** The association's transfer, begun at its first C-STORE. */
  of(assoc: AssociationInfo): ReceivedTransfer {
    let t = this.transfers.get(assoc);
    if (!t) this.transfers.set(assoc, (t = this.ingest.beginTransfer(peerParty(assoc))));
    return t;
  }

  /** A C-STORE on the association that did not store its object. */
  failed(assoc: AssociationInfo): void {
    if (this.over.has(assoc)) return;
    this.of(assoc).fail();
  }

  /**
   * At the end of an association (`how`: 'released', or what ended it): its transfer's record, saying
   * whether it ended before its sender said it was done.
   */
  ended(assoc: AssociationInfo, how = 'released'): Promise<void> {
    this.over.add(assoc);
    const t = this.transfers.get(assoc);
    if (!t) return Promise.resolve();
    this.transfers.delete(assoc);
    const interrupted = how === 'released' ? undefined : `the association ended before its release (${how})`;
    const done = this.ingest.endTransfer(t, interrupted).finally(() => this.ending.delete(done));
    this.ending.add(done);
    return done;
  }

  /** Once the records of the associations that ended are written (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.ending]);
  }
}
