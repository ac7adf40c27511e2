import type { IngestService } from '../../services/ingest.js';
import type { AuditedInstance } from '../../services/clinical-audit.js';
import { peerParty } from './actor.js';
import type { AssociationInfo } from '../../net/dimse/association.js';

/**
 * The instances each association stored, recorded as one transfer when it ends (the ingest service builds
 * the event): recording each of thousands of objects alone would cost ingest more than it may, and PS3.15
 * A.5.3.4 describes the event per transfer, not per object.
 */
export class StoredPerAssociation {
  private readonly stores = new WeakMap<AssociationInfo, { stored: AuditedInstance[]; failed: number }>();

  constructor(private readonly ingest: IngestService) {}

  private of(assoc: AssociationInfo): { stored: AuditedInstance[]; failed: number } {
    let log = this.stores.get(assoc);
    if (!log) this.stores.set(assoc, (log = { stored: [], failed: 0 }));
    return log;
  }

  stored(assoc: AssociationInfo, instance: AuditedInstance): void {
    this.of(assoc).stored.push(instance);
  }

  /** A C-STORE on the association that did not store its object. */
  failed(assoc: AssociationInfo): void {
    this.of(assoc).failed++;
  }

  /**
   * At the end of an association (`how`: 'released', or what ended it): the instances it stored, how many
   * failed, and whether it ended before its sender said it was done.
   */
  async ended(assoc: AssociationInfo, how = 'released'): Promise<void> {
    const log = this.stores.get(assoc);
    if (!log || (!log.stored.length && !log.failed)) return;
    this.stores.delete(assoc);
    const interrupted = how === 'released' ? undefined : `the association ended before its release (${how})`;
    await this.ingest.recordReceived(peerParty(assoc), log.stored, log.failed, interrupted);
  }
}
