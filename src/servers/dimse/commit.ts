import type { Logger } from 'pino';
import { EXPLICIT_LITTLE, Dataset } from '../../core/dicom/dataset.js';
import { Tag } from '../../core/dicom/dictionary.js';
import { numberElement, sequenceElement, stringElement } from '../../core/dicom/encode.js';
import { parseDicom } from '../../core/dicom/parser.js';
import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import { getString } from '../../core/dicom/values.js';
import { encodeDataset, encodingOf } from '../../core/dicom/writer.js';
import { type Command, CommandField } from '../../core/dimse/command.js';
import { ServiceSopClass } from '../../core/dimse/sop-classes.js';
import { Status } from '../../core/dimse/status.js';
import type { AeRecord } from '../../ports/ae-store.js';
import type { CommitmentRef, CommitmentService } from '../../services/commitment.js';
import { peerParty } from './actor.js';
import type { AssociationInfo, DimseHandler } from '../../net/dimse/association.js';
import { Association } from '../../net/dimse/association.js';
import { LanternError } from '../../core/errors.js';
import { readIdentifier } from './find.js';

/** The well-known SOP Instance of the Storage Commitment Push Model (PS3.4 J.3.5). */
export const STORAGE_COMMITMENT_INSTANCE = '1.2.840.10008.1.20.1.1';

export interface CommitDeps {
  readonly commitment: CommitmentService;
  readonly aeTitle: string;
  readonly findAe: (aeTitle: string) => Promise<AeRecord | undefined>;
  readonly log: Logger;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** How long the peer we send to may take to answer one request (dicom.idleSeconds). */
  readonly responseTimeoutMs?: number;
}

type Ref = CommitmentRef;

/**
 * Storage Commitment Push Model SCP (PS3.4 J): N-ACTION is answered at once; then each referenced instance's
 * digest is recomputed from storage, and an N-EVENT-REPORT lists the committed instances and the failures
 * with their reason (0112H not stored, 0119H SOP class differs, 0110H its bytes no longer match). The report
 * goes on the same association while it is open, else on a new association to the requester.
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
    if (Number(cmd.ActionTypeID) !== 1) {
      await readIdentifier(req.dataset);
      return { status: Status.NoSuchActionType, fields: { ErrorComment: 'action type must be 1' } };
    }
    const ts = lookupTransferSyntax(req.context.transferSyntax)!;
    const ds = parseDicom(await readIdentifier(req.dataset), { assumeTransferSyntax: ts.uid }).dataset;
    const transactionUid = getString(ds, Tag.TransactionUID);
    const seq = ds.get(Tag.ReferencedSOPSequence);
    if (!transactionUid || !seq?.items?.length) {
      return {
        status: Status.MissingAttribute,
        fields: {
          ErrorComment: 'Transaction UID or Referenced SOP Sequence missing',
          OffendingElement: [transactionUid ? Tag.ReferencedSOPSequence : Tag.TransactionUID],
        },
      };
    }
    const refs: Ref[] = seq.items.map((it) => ({
      sopClassUid: getString(it.dataset, Tag.ReferencedSOPClassUID) ?? '',
      sopInstanceUid: getString(it.dataset, Tag.ReferencedSOPInstanceUID) ?? '',
    }));
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
        ActionTypeID: 1,
      },
    };
  };
}

async function report(
  deps: CommitDeps,
  assoc: AssociationInfo,
  context: { abstractSyntax: string; transferSyntax: string },
  transactionUid: string,
  refs: readonly Ref[],
): Promise<void> {
  const { committed, failed } = await deps.commitment.verify(refs, peerParty(assoc));
  const item = (r: Ref, reason?: number) =>
    new Dataset(
      [
        stringElement(Tag.ReferencedSOPClassUID, 'UI', [r.sopClassUid]),
        stringElement(Tag.ReferencedSOPInstanceUID, 'UI', [r.sopInstanceUid]),
        ...(reason === undefined ? [] : [numberElement(Tag.FailureReason, 'US', [reason])]),
      ],
      EXPLICIT_LITTLE,
    );
  let ds = new Dataset([stringElement(Tag.TransactionUID, 'UI', [transactionUid])], EXPLICIT_LITTLE).with(
    stringElement(Tag.RetrieveAETitle, 'AE', [deps.aeTitle]),
  );
  if (committed.length)
    ds = ds.with(
      sequenceElement(
        Tag.ReferencedSOPSequence,
        committed.map((r) => item(r)),
      ),
    );
  if (failed.length)
    ds = ds.with(
      sequenceElement(
        Tag.FailedSOPSequence,
        failed.map((r) => item(r, r.reason)),
      ),
    );
  const command: Command = {
    CommandField: CommandField.N_EVENT_REPORT_RQ,
    AffectedSOPClassUID: ServiceSopClass.StorageCommitmentPushModel,
    AffectedSOPInstanceUID: STORAGE_COMMITMENT_INSTANCE,
    EventTypeID: failed.length ? 2 : 1,
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
