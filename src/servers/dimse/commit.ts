import type { Logger } from 'pino';
import { Tag } from '../../core/dicom/dictionary.js';
import { parseDicom } from '../../core/dicom/parser.js';
import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import { encodeDataset, encodingOf } from '../../core/dicom/writer.js';
import { type Command, CommandField } from '../../core/dimse/command.js';
import { ServiceSopClass } from '../../core/dimse/sop-classes.js';
import { Status } from '../../core/dimse/status.js';
import type { AeRecord } from '../../ports/ae-store.js';
import type { CommitmentService } from '../../services/commitment.js';
import type { SendService } from '../../services/send.js';
import {
  type CommitmentRef,
  commitmentEventType,
  commitmentReportDataset,
  readCommitmentRequest,
  REQUEST_COMMITMENT_ACTION,
  STORAGE_COMMITMENT_INSTANCE,
} from '../../core/dimse/commitment.js';
import { peerParty } from './actor.js';
import type { AssociationInfo, DimseHandler } from '../../net/dimse/association.js';
import { Association } from '../../net/dimse/association.js';
import { commitmentReportHandler } from '../../net/dimse/commitment-report.js';
import { LanternError } from '../../core/errors.js';
import { readIdentifier } from './find.js';

export interface CommitDeps {
  readonly commitment: CommitmentService;
  readonly aeTitle: string;
  readonly findAe: (aeTitle: string) => Promise<AeRecord | undefined>;
  /** Whether the calling AE may store here: commitment is asked for what one stored (PS3.4 J.3). */
  readonly permitsStore: (callingAeTitle: string) => Promise<boolean>;
  readonly log: Logger;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** How long the peer we send to may take to answer one request (dicom.idleSeconds). */
  readonly responseTimeoutMs?: number;
}

/**
 * Storage Commitment Push Model SCP (PS3.4 J): N-ACTION is answered at once; then each referenced instance's
 * digest is recomputed from storage, and an N-EVENT-REPORT lists the committed instances and the failures
 * with their reason (0112H not stored, 0119H SOP class differs, 0110H its bytes no longer match). The report
 * goes on the same association while it is open, else on a new association to the requester. Only an AE
 * the registry lets store may ask (a peer that may only query learns nothing of what the archive holds).
 */
export function commit(deps: CommitDeps): DimseHandler {
  return async (req, assoc) => {
    const cmd = req.command;
    if (
      cmd.RequestedSOPClassUID !== ServiceSopClass.StorageCommitmentPushModel ||
      cmd.RequestedSOPInstanceUID !== STORAGE_COMMITMENT_INSTANCE
    ) {
      await readIdentifier(req.dataset);
      return {
        status: Status.NoSuchSopInstance,
        fields: { ErrorComment: 'not the Storage Commitment well-known instance' },
      };
    }
    if (!(await deps.permitsStore(assoc.callingAeTitle))) {
      await readIdentifier(req.dataset);
      deps.log.warn(
        { calling: assoc.callingAeTitle },
        'storage commitment refused: the AE may not store here',
      );
      await deps.commitment.refused(peerParty(assoc), 'the AE may not store here');
      return {
        status: Status.NotAuthorized,
        fields: { ErrorComment: 'this AE may not store here, so it may not ask for commitment' },
      };
    }
    if (Number(cmd.ActionTypeID) !== REQUEST_COMMITMENT_ACTION) {
      await readIdentifier(req.dataset);
      return { status: Status.NoSuchActionType, fields: { ErrorComment: 'action type must be 1' } };
    }
    const ts = lookupTransferSyntax(req.context.transferSyntax)!;
    const ds = parseDicom(await readIdentifier(req.dataset), { assumeTransferSyntax: ts.uid }).dataset;
    const { transactionUid, refs } = readCommitmentRequest(ds);
    if (!transactionUid || !refs.length) {
      return {
        status: Status.MissingAttribute,
        fields: {
          ErrorComment: 'Transaction UID or Referenced SOP Sequence missing',
          OffendingElement: [transactionUid ? Tag.ReferencedSOPSequence : Tag.TransactionUID],
        },
      };
    }
    // After the N-ACTION response is on its way.
    setImmediate(() => {
      report(deps, assoc, req.context, transactionUid, refs).catch((e: unknown) =>
        deps.log.error(
          { err: { message: (e as Error).message } },
          'storage commitment report could not be sent',
        ),
      );
    });
    return {
      status: Status.Success,
      fields: {
        AffectedSOPClassUID: ServiceSopClass.StorageCommitmentPushModel,
        AffectedSOPInstanceUID: STORAGE_COMMITMENT_INSTANCE,
        ActionTypeID: REQUEST_COMMITMENT_ACTION,
      },
    };
  };
}

async function report(
  deps: CommitDeps,
  assoc: AssociationInfo,
  context: { abstractSyntax: string; transferSyntax: string },
  transactionUid: string,
  refs: readonly CommitmentRef[],
): Promise<void> {
  const { committed, failed } = await deps.commitment.verify(refs, peerParty(assoc));
  const ds = commitmentReportDataset({ transactionUid, committed, failed, retrieveAeTitle: deps.aeTitle });
  const command: Command = {
    CommandField: CommandField.N_EVENT_REPORT_RQ,
    AffectedSOPClassUID: ServiceSopClass.StorageCommitmentPushModel,
    AffectedSOPInstanceUID: STORAGE_COMMITMENT_INSTANCE,
    EventTypeID: commitmentEventType({ transactionUid, committed, failed }),
  };
  deps.log.info(
    { committed: committed.length, failed: failed.length, calling: assoc.callingAeTitle },
    'storage commitment verified',
  );
  const once = (bytes: Uint8Array) =>
    (async function* () {
      yield bytes;
    })();
  if (assoc.isOpen?.()) {
    const bytes = encodeDataset(ds, encodingOf(lookupTransferSyntax(context.transferSyntax)!));
    const rsp = await assoc.request?.(context.abstractSyntax, context.transferSyntax, command, once(bytes), {
      peerIsScp: false,
    });
    if (rsp) return;
  }
  // The requester released the association: report on a new one (PS3.4 J.3.3), to its registered address.
  const ae = await deps.findAe(assoc.callingAeTitle);
  if (!ae?.host || !ae.port)
    throw new LanternError(
      'LNT_DIMSE_NO_ADDRESS',
      'the requester has no registered host and port for the report',
    );
  const client = await Association.connect({
    host: ae.host,
    port: ae.port,
    callingAeTitle: deps.aeTitle,
    calledAeTitle: ae.aeTitle,
    contexts: [
      {
        abstractSyntax: ServiceSopClass.StorageCommitmentPushModel,
        transferSyntaxes: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'],
      },
    ],
    roles: [{ sopClassUid: ServiceSopClass.StorageCommitmentPushModel, scu: false, scp: true }],
    implementationClassUid: deps.implementationClassUid,
    implementationVersionName: deps.implementationVersionName,
    maxPduLength: 262144,
    maxResponseDatasetBytes: 64 * 1024,
    responseTimeoutMs: deps.responseTimeoutMs,
  });
  try {
    const ctx = client.acceptedContext(ServiceSopClass.StorageCommitmentPushModel);
    if (!ctx)
      throw new LanternError(
        'LNT_DIMSE_ASSOCIATION',
        'the requester did not accept the Storage Commitment report',
      );
    const bytes = encodeDataset(ds, encodingOf(lookupTransferSyntax(ctx.transferSyntax)!));
    for await (const _ of client.request(ctx.id, command, bytes)) void _;
  } finally {
    await client.release();
  }
}

/**
 * Storage Commitment reports for the requests Lantern made as SCU (PS3.4 J.3.3), when the peer sends them on
 * a new association: handed to the send service, which takes only a report from the AE it asked. The report
 * is acknowledged either way (a peer would otherwise send it again and again).
 */
export function commitmentReport(send: SendService, log: Logger): DimseHandler {
  return commitmentReportHandler((r, assoc) => {
    if (!send.reported(r, assoc.callingAeTitle))
      log.warn({ calling: assoc.callingAeTitle }, 'storage commitment report for no request waiting for one');
  });
}
