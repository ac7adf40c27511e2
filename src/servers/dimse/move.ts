import { peerActor, peerParty } from './actor.js';
import { Tag } from '../../core/dicom/dictionary.js';
import { parseDicom } from '../../core/dicom/parser.js';
import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import { getString } from '../../core/dicom/values.js';
import { CommandField } from '../../core/dimse/command.js';
import { MODEL_LEVELS } from '../../core/dimse/sop-classes.js';
import { Status, statusCategory } from '../../core/dimse/status.js';
import { keysFromDataset } from '../../core/query/keys.js';
import type { AeRecord, InstanceRow } from '../../ports/index.js';
import type { RetrieveService } from '../../services/retrieve.js';
import type { AssociationInfo, DimseHandler, DimseResponse } from './association.js';
import { ClientAssociation } from './client.js';
import { readIdentifier } from './find.js';

export interface MoveDeps {
  readonly retrieve: RetrieveService;
  readonly aeTitle: string;
  readonly findAe: (aeTitle: string) => Promise<AeRecord | undefined>;
  readonly permitsMove: (callingAeTitle: string) => Promise<boolean>;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** How long the peer we send to may take to answer one request (dicom.idleSeconds). */
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

/** Sub-operation counts as the C-MOVE and C-GET responses carry them (PS3.4 C.4.2.1.3, C.4.3.1.3). */
export class SubOperations {
  completed = 0;
  failed = 0;
  warning = 0;
  constructor(public remaining: number) {}
  record(outcome: 'Success' | 'Warning' | 'Failure'): void {
    this.remaining--;
    if (outcome === 'Success') this.completed++;
    else if (outcome === 'Warning') this.warning++;
    else this.failed++;
  }
  fields() {
    return {
      NumberOfRemainingSuboperations: this.remaining,
      NumberOfCompletedSuboperations: this.completed,
      NumberOfFailedSuboperations: this.failed,
      NumberOfWarningSuboperations: this.warning,
    };
  }
  final(cancelled: boolean): DimseResponse {
    if (cancelled) return { status: Status.Cancel, fields: this.fields() };
    return {
      status: this.failed || this.warning ? Status.SubOperationsCompleteWithFailures : Status.Success,
      fields: this.fields(),
    };
  }
}

/**
 * C-MOVE SCP (PS3.4 C.4.2): the identifier selects instances (relational, any level); they are sent with
 * C-STORE sub-operations on a new association to the registered move destination, as they are stored.
 * A pending response follows each sub-operation with the counts; C-CANCEL stops between sub-operations.
 */
export function move(deps: MoveDeps): DimseHandler {
  return async function* (req, assoc, signal): AsyncGenerator<DimseResponse> {
    const bytes = await readIdentifier(req.dataset);
    if (!(await deps.permitsMove(assoc.callingAeTitle))) {
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
        fields: { ErrorComment: refusal ?? '', OffendingElement: [0x00000600] },
      };
      return;
    }
    const selected = await selectInstances(bytes, req.context, deps.retrieve, signal, assoc);
    if ('status' in selected) {
      yield selected;
      return;
    }
    const instances = selected.instances;
    await deps.retrieve.recordSent(peerParty(assoc), instances, 'transferred', destination);
    const counts = new SubOperations(instances.length);
    const countFields = () => counts.fields();
    if (instances.length === 0) {
      yield { status: Status.Success, fields: countFields() };
      return;
    }
    // One presentation context per SOP class and stored transfer syntax: the bytes go as they are.
    const pairs = new Map<string, { abstractSyntax: string; transferSyntaxes: string[] }>();
    for (const i of instances)
      pairs.set(`${i.sopClassUid}|${i.transferSyntaxUid}`, {
        abstractSyntax: i.sopClassUid,
        transferSyntaxes: [i.transferSyntaxUid],
      });
    let client: ClientAssociation;
    try {
      client = await ClientAssociation.connect({
        host: dest.host,
        port: dest.port,
        callingAeTitle: deps.aeTitle,
        calledAeTitle: dest.aeTitle,
        contexts: [...pairs.values()].slice(0, 128),
        implementationClassUid: deps.implementationClassUid,
        implementationVersionName: deps.implementationVersionName,
        // C-STORE responses carry no data set.
        maxDatasetBytes: 64 * 1024,
        responseTimeoutMs: deps.responseTimeoutMs,
      });
    } catch (e) {
      yield {
        status: Status.OutOfResourcesSubOperations,
        fields: {
          ...countFields(),
          ErrorComment: `cannot reach the destination: ${(e as Error).message}`.slice(0, 64),
        },
      };
      return;
    }
    const failedUids: string[] = [];
    // The requester cancelled or went away: the store under way stops too.
    const stop = () => client.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (const inst of instances) {
        if (signal.aborted) break;
        const outcome = await storeOne(
          client,
          inst,
          deps,
          assoc.callingAeTitle,
          Number(req.command.MessageID),
        );
        counts.remaining--;
        if (outcome === 'Success') counts.completed++;
        else if (outcome === 'Warning') counts.warning++;
        else {
          counts.failed++;
          failedUids.push(inst.sopInstanceUid);
        }
        if (counts.remaining > 0) yield { status: Status.Pending, fields: countFields() };
      }
    } finally {
      signal.removeEventListener('abort', stop);
      await client.release().catch(() => client.abort());
    }
    if (signal.aborted) {
      yield { status: Status.Cancel, fields: countFields() };
      return;
    }
    const status =
      counts.failed || counts.warning ? Status.SubOperationsCompleteWithFailures : Status.Success;
    yield { status, fields: countFields() };
  };

  async function storeOne(
    client: ClientAssociation,
    inst: InstanceRow,
    d: MoveDeps,
    originator: string,
    originatorMessageId: number,
  ): Promise<'Success' | 'Warning' | 'Failure'> {
    const ctx = client.acceptedContext(inst.sopClassUid, inst.transferSyntaxUid);
    if (!ctx) return 'Failure';
    try {
      let status = -1;
      for await (const rsp of client.request(
        ctx.id,
        {
          CommandField: CommandField.C_STORE_RQ,
          AffectedSOPClassUID: inst.sopClassUid,
          AffectedSOPInstanceUID: inst.sopInstanceUid,
          Priority: 0,
          MoveOriginatorApplicationEntityTitle: originator,
          MoveOriginatorMessageID: originatorMessageId,
        },
        await d.retrieve.datasetStream(inst),
      )) {
        status = Number(rsp.command.Status);
      }
      const cat = statusCategory(status);
      return cat === 'Success' ? 'Success' : cat === 'Warning' ? 'Warning' : 'Failure';
    } catch {
      return 'Failure';
    }
  }
}
