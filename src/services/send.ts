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

/**
 * "Send these instances to this AE": records the transfer in the audit trail before anything goes, then
 * C-STOREs each instance as stored through the DICOM sender, counting the outcomes. C-MOVE uses it; routing,
 * forwarding and migration will.
 */
export class SendService {
  constructor(
    private readonly sender: DicomSender,
    private readonly retrieve: RetrieveService,
  ) {}

  async *send(
    to: StoreDestination,
    instances: readonly InstanceRow[],
    options: SendOptions & { readonly by: Party },
  ): AsyncGenerator<SendProgress> {
    await this.retrieve.recordSent(options.by, instances, 'transferred', to.aeTitle);
    const counts = new SubOperations(instances.length);
    if (!instances.length) return;
    for await (const r of this.sender.send(to, instances, (i) => this.retrieve.datasetStream(i), options)) {
      const outcome = storeOutcome(r.status);
      counts.record(outcome);
      yield { counts, instance: r.instance, outcome };
    }
  }
}
