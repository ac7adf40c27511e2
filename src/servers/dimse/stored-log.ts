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
  private readonly stores = new WeakMap<AssociationInfo, AuditedInstance[]>();

  constructor(private readonly ingest: IngestService) {}

  stored(assoc: AssociationInfo, instance: AuditedInstance): void {
    const list = this.stores.get(assoc) ?? [];
    list.push(instance);
    this.stores.set(assoc, list);
  }

  /** At the end of an association: the instances it stored. */
  async ended(assoc: AssociationInfo): Promise<void> {
    const list = this.stores.get(assoc);
    if (!list?.length) return;
    this.stores.delete(assoc);
    await this.ingest.recordReceived(peerParty(assoc), list, 0);
  }
}
