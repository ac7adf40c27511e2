import { peerParty } from './actor.js';
import { CommandField } from '../../core/dimse/command.js';
import { Status } from '../../core/dimse/status.js';
import { storeOutcome, SubOperations } from '../../core/dimse/sub-operations.js';
import type { RetrieveService } from '../../services/retrieve.js';
import type { DimseHandler, DimseResponse } from '../../net/dimse/association.js';
import { readIdentifier } from './find.js';
import { selectInstances } from './move.js';

export interface GetDeps {
  readonly retrieve: RetrieveService;
  readonly permitsGet: (callingAeTitle: string, withUser: boolean) => Promise<boolean>;
}

/**
 * C-GET SCP (PS3.4 C.4.3): the selected instances go back to the requestor on the same association, with
 * C-STORE sub-operations on the storage contexts whose SCP role it took (role selection, PS3.7 D.3.3.4),
 * each in the transfer syntax it was stored in. Pending responses carry the counts; C-CANCEL stops between
 * sub-operations.
 */
export function get(deps: GetDeps): DimseHandler {
  return async function* (req, assoc, signal): AsyncGenerator<DimseResponse> {
    const bytes = await readIdentifier(req.dataset);
    if (!(await deps.permitsGet(assoc.callingAeTitle, !!assoc.user))) {
      yield { status: Status.NotAuthorized, fields: { ErrorComment: 'this AE may not retrieve from here' } };
      return;
    }
    const selected = await selectInstances(bytes, req.context, deps.retrieve, signal, assoc);
    if ('status' in selected) {
      yield selected;
      return;
    }
    // Objects an integrity check found damaged are not sent: each is a failed sub-operation.
    const { whole, damaged } = deps.retrieve.partition(selected.instances);
    await deps.retrieve.recordSent(peerParty(assoc), whole, 'transferred', assoc.callingAeTitle);
    const counts = new SubOperations(selected.instances.length);
    for (const _ of damaged) counts.record('Failure');
    const datasets = deps.retrieve.datasetsInOrder(whole);
    for (const inst of whole) {
      if (signal.aborted) break;
      // An object that cannot be read (its file gone) fails its sub-operation alone.
      const data = await datasets(inst).catch(() => undefined);
      if (!data) {
        counts.record('Failure');
        if (counts.remaining > 0) yield { status: Status.Pending, fields: counts.fields() };
        continue;
      }
      const rsp = await assoc.request?.(
        inst.sopClassUid,
        inst.transferSyntaxUid,
        {
          CommandField: CommandField.C_STORE_RQ,
          AffectedSOPClassUID: inst.sopClassUid,
          AffectedSOPInstanceUID: inst.sopInstanceUid,
          Priority: 0,
        },
        data,
      );
      counts.record(storeOutcome(rsp ? Number(rsp.Status) : undefined));
      if (counts.remaining > 0) yield { status: Status.Pending, fields: counts.fields() };
    }
    yield { status: counts.finalStatus(signal.aborted), fields: counts.fields() };
  };
}
