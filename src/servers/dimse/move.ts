import { peerActor, peerParty } from './actor.js';
import { Tag } from '../../core/dicom/dictionary.js';
import { parseDicom } from '../../core/dicom/parser.js';
import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import { getString } from '../../core/dicom/values.js';
import { MODEL_LEVELS } from '../../core/dimse/sop-classes.js';
import { CommandTag } from '../../core/dimse/command.js';
import { Status } from '../../core/dimse/status.js';
import { keysFromDataset } from '../../core/query/keys.js';
import type { InstanceRow } from '../../ports/archive-index.js';
import type { AeRecord } from '../../ports/ae-store.js';
import type { RetrieveService } from '../../services/retrieve.js';
import type { AssociationInfo, DimseHandler, DimseResponse } from '../../net/dimse/association.js';
import { AssociationError } from '../../net/dimse/association.js';
import { SubOperations } from '../../core/dimse/sub-operations.js';
import type { SendService } from '../../services/send.js';
import { readIdentifier } from './find.js';

export interface MoveDeps {
  readonly retrieve: RetrieveService;
  readonly send: SendService;
  readonly aeTitle: string;
  readonly findAe: (aeTitle: string) => Promise<AeRecord | undefined>;
  readonly permitsMove: (callingAeTitle: string, withUser: boolean) => Promise<boolean>;
  /** How long the destination may take to answer one C-STORE (dicom.idleSeconds). */
  readonly responseTimeoutMs?: number;
}

/** The instances a C-MOVE or C-GET identifier selects, or the failure response to send instead. */
export async function selectInstances(
  identifierBytes: Uint8Array,
  context: { abstractSyntax: string; transferSyntax: string },
  retrieve: RetrieveService,
  signal: AbortSignal,
  assoc: AssociationInfo,
): Promise<{ instances: InstanceRow[] } | DimseResponse> {
  const ts = lookupTransferSyntax(context.transferSyntax)!;
  const identifier = parseDicom(identifierBytes, { assumeTransferSyntax: ts.uid }).dataset;
  const level = getString(identifier, Tag.QueryRetrieveLevel);
  if (!level || !(MODEL_LEVELS[context.abstractSyntax] ?? []).includes(level)) {
    return {
      status: Status.IdentifierDoesNotMatchSopClass,
      fields: {
        ErrorComment: 'Query/Retrieve Level missing or not in this model',
        OffendingElement: [Tag.QueryRetrieveLevel],
      },
    };
  }
  const actor = peerActor(assoc, ['study.read']);
  return { instances: await retrieve.instances(keysFromDataset(identifier), signal, actor) };
}

/**
 * C-MOVE SCP (PS3.4 C.4.2): the identifier selects instances (relational, any level); they are sent with
 * C-STORE sub-operations on a new association to the registered move destination, as they are stored.
 * A pending response follows each sub-operation with the counts; C-CANCEL stops between sub-operations.
 */
export function move(deps: MoveDeps): DimseHandler {
  return async function* (req, assoc, signal): AsyncGenerator<DimseResponse> {
    const bytes = await readIdentifier(req.dataset);
    if (!(await deps.permitsMove(assoc.callingAeTitle, !!assoc.user))) {
      yield { status: Status.NotAuthorized, fields: { ErrorComment: 'this AE may not retrieve from here' } };
      return;
    }
    const destination = String(req.command.MoveDestination ?? '').trim();
    const dest = destination ? await deps.findAe(destination) : undefined;
    // PS3.4 C.4.2.1.4.2: A801 for a destination we cannot send to; the comment says why.
    const refusal = !destination
      ? 'no move destination was given'
      : !dest
        ? `${destination} is not a registered AE`
        : !dest.permissions.includes('destination')
          ? `${destination} is not permitted as a move destination`
          : !dest.port || !dest.host
            ? `${destination} has no host and port registered`
            : undefined;
    if (refusal || !dest) {
      yield {
        status: Status.MoveDestinationUnknown,
        fields: { ErrorComment: refusal ?? '', OffendingElement: [CommandTag.MoveDestination] },
      };
      return;
    }
    const selected = await selectInstances(bytes, req.context, deps.retrieve, signal, assoc);
    if ('status' in selected) {
      yield selected;
      return;
    }
    const instances = selected.instances;
    if (instances.length === 0) {
      yield { status: Status.Success, fields: new SubOperations(0).fields() };
      return;
    }
    let last = new SubOperations(instances.length);
    try {
      for await (const p of deps.send.send(dest, instances, {
        by: peerParty(assoc),
        callingAeTitle: deps.aeTitle,
        moveOriginator: { aeTitle: assoc.callingAeTitle, messageId: Number(req.command.MessageID) },
        signal,
        responseTimeoutMs: deps.responseTimeoutMs,
      })) {
        last = p.counts;
        if (p.counts.remaining > 0) yield { status: Status.Pending, fields: p.counts.fields() };
      }
    } catch (e) {
      if (!(e instanceof AssociationError)) throw e;
      yield {
        status: Status.OutOfResourcesSubOperations,
        fields: { ...last.fields(), ErrorComment: `cannot reach the destination: ${e.message}`.slice(0, 64) },
      };
      return;
    }
    yield { status: last.finalStatus(signal.aborted), fields: last.fields() };
  };
}
