import { lookupTransferSyntax, TransferSyntaxUid as TS } from '../../core/dicom/transfer-syntax.js';
import { encodeDataset, encodingOf } from '../../core/dicom/writer.js';
import { CommandField } from '../../core/dimse/command.js';
import {
  type CommitmentRef,
  type CommitmentReport,
  commitmentRequest,
  REQUEST_COMMITMENT_ACTION,
  STORAGE_COMMITMENT_INSTANCE,
} from '../../core/dimse/commitment.js';
import { ServiceSopClass } from '../../core/dimse/sop-classes.js';
import { Status } from '../../core/dimse/status.js';
import { AbortReason } from '../../core/ul/pdu.js';
import { Association, AssociationError, type DimseHandler } from '../../net/dimse/association.js';
import { commitmentReportHandler } from '../../net/dimse/commitment-report.js';
import type {
  DicomSender,
  OutgoingInstance,
  SendOptions,
  StoreDestination,
} from '../../ports/dicom-sender.js';

/** C-STOREs of one send outstanding at once, when the destination grants that window. */
const STORE_WINDOW = 8;

export interface NetworkSenderOptions {
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** How long the peer may take to answer one C-STORE (dicom.idleSeconds). */
  readonly responseTimeoutMs: number;
  readonly maxPduLength: number;
}

/**
 * The DICOM sender over the network: one requestor association to the destination, proposing each SOP class
 * in each stored transfer syntax (so the bytes go as they are), a C-STORE per instance (several outstanding
 * when the peer grants an asynchronous operations window), then release.
 */
export class NetworkSender implements DicomSender {
  constructor(private readonly o: NetworkSenderOptions) {}

  async *send<T extends OutgoingInstance>(
    to: StoreDestination,
    instances: readonly T[],
    dataset: (instance: T) => Promise<AsyncIterable<Uint8Array>>,
    options: SendOptions,
  ): AsyncGenerator<{ instance: T; status: number | undefined }> {
    const pairs = new Map<string, { abstractSyntax: string; transferSyntaxes: string[] }>();
    for (const i of instances)
      pairs.set(`${i.sopClassUid}|${i.transferSyntaxUid}`, {
        abstractSyntax: i.sopClassUid,
        transferSyntaxes: [i.transferSyntaxUid],
      });
    const assoc = await this.connect(to, [...pairs.values()].slice(0, 128), options, undefined, STORE_WINDOW);
    // Cancelled, or the requester went away: the store under way stops too.
    const stop = () => assoc.abort(AbortReason.NotSpecified, 'the send was cancelled');
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      // Up to the window the peer granted, C-STOREs go out before the first response has come (PS3.7
      // D.3.3.3). The next goes out as soon as one is answered, not when the caller has taken the outcome
      // (a C-MOVE's pending response to its requestor): with a window of one, as most peers grant, the
      // destination is never kept waiting for our other work. Outcomes are given in the order sent.
      const window = Math.max(1, assoc.operationsWindow);
      const outcomes: Promise<{ instance: T; status: number | undefined }>[] = [];
      let stopped = false;
      const launch = () => {
        if (stopped || outcomes.length >= instances.length || options.signal?.aborted) return;
        const instance = instances[outcomes.length];
        const p = this.storeOne(assoc, instance, dataset, options).then((status) => ({ instance, status }));
        outcomes.push(p);
        void p.then(launch); // storeOne never fails: a failure is an undefined status
      };
      for (let k = 0; k < window; k++) launch();
      try {
        for (let i = 0; i < outcomes.length; i++) yield await outcomes[i];
      } finally {
        stopped = true;
        await Promise.all(outcomes); // answered or failed with the association: none left running
      }
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await assoc.release().catch(() => assoc.abort());
    }
  }

  /**
   * A requestor association to the peer with these contexts, our identity and limits. The answers it waits
   * for (C-STORE, C-ECHO, N-ACTION responses) carry small data sets at most.
   */
  private connect(
    to: StoreDestination,
    contexts: { abstractSyntax: string; transferSyntaxes: string[] }[],
    options: SendOptions,
    handlers?: ReadonlyMap<number, DimseHandler>,
    asyncOperations?: number,
  ): Promise<Association> {
    return Association.connect({
      host: to.host,
      port: to.port,
      callingAeTitle: options.callingAeTitle,
      calledAeTitle: to.aeTitle,
      contexts,
      ...(handlers ? { handlers } : {}),
      ...(asyncOperations ? { asyncOperations } : {}),
      maxPduLength: this.o.maxPduLength,
      implementationClassUid: this.o.implementationClassUid,
      implementationVersionName: this.o.implementationVersionName,
      maxResponseDatasetBytes: 64 * 1024,
      responseTimeoutMs: options.responseTimeoutMs ?? this.o.responseTimeoutMs,
    });
  }

  async echo(to: StoreDestination, options: SendOptions): Promise<number> {
    const assoc = await this.connect(
      to,
      [
        {
          abstractSyntax: ServiceSopClass.Verification,
          transferSyntaxes: [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian],
        },
      ],
      options,
    );
    const stop = () => assoc.abort(AbortReason.NotSpecified, 'the echo was cancelled');
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      const ctx = assoc.acceptedContext(ServiceSopClass.Verification);
      if (!ctx) throw new AssociationError(`${to.aeTitle} does not accept Verification`);
      let status: number = Status.ProcessingFailure;
      for await (const rsp of assoc.request(ctx.id, {
        CommandField: CommandField.C_ECHO_RQ,
        AffectedSOPClassUID: ServiceSopClass.Verification,
      }))
        status = Number(rsp.command.Status);
      return status;
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await assoc.release().catch(() => assoc.abort());
    }
  }

  async requestCommitment(
    to: StoreDestination,
    request: { readonly transactionUid: string; readonly refs: readonly CommitmentRef[] },
    options: SendOptions & {
      readonly until: Promise<unknown>;
      readonly onReport: (report: CommitmentReport) => void;
    },
  ): Promise<number> {
    // The peer may send its report on this association while it is open (PS3.4 J.3.3).
    const report = commitmentReportHandler((r) => options.onReport(r));
    const assoc = await this.connect(
      to,
      [
        {
          abstractSyntax: ServiceSopClass.StorageCommitmentPushModel,
          transferSyntaxes: [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian],
        },
      ],
      options,
      new Map([[CommandField.N_EVENT_REPORT_RQ, report]]),
    );
    const stop = () => assoc.abort(AbortReason.NotSpecified, 'the commitment request was cancelled');
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      const ctx = assoc.acceptedContext(ServiceSopClass.StorageCommitmentPushModel);
      if (!ctx) throw new AssociationError(`${to.aeTitle} does not accept Storage Commitment Push Model`);
      const bytes = encodeDataset(
        commitmentRequest(request.transactionUid, request.refs),
        encodingOf(lookupTransferSyntax(ctx.transferSyntax)!),
      );
      let status: number = Status.ProcessingFailure;
      for await (const rsp of assoc.request(
        ctx.id,
        {
          CommandField: CommandField.N_ACTION_RQ,
          RequestedSOPClassUID: ServiceSopClass.StorageCommitmentPushModel,
          RequestedSOPInstanceUID: STORAGE_COMMITMENT_INSTANCE,
          ActionTypeID: REQUEST_COMMITMENT_ACTION,
        },
        bytes,
      ))
        status = Number(rsp.command.Status);
      // Accepted: open for a report here until it has come (by either way) or the wait is over.
      if (status === Status.Success) await Promise.race([options.until.catch(() => undefined), assoc.ended]);
      return status;
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await assoc.release().catch(() => assoc.abort());
    }
  }

  private async storeOne<T extends OutgoingInstance>(
    assoc: Association,
    instance: T,
    dataset: (instance: T) => Promise<AsyncIterable<Uint8Array>>,
    options: SendOptions,
  ): Promise<number | undefined> {
    const ctx = assoc.acceptedContext(instance.sopClassUid, instance.transferSyntaxUid);
    if (!ctx) return undefined;
    try {
      let status: number | undefined;
      for await (const rsp of assoc.request(
        ctx.id,
        {
          CommandField: CommandField.C_STORE_RQ,
          AffectedSOPClassUID: instance.sopClassUid,
          AffectedSOPInstanceUID: instance.sopInstanceUid,
          Priority: 0,
          ...(options.moveOriginator
            ? {
                MoveOriginatorApplicationEntityTitle: options.moveOriginator.aeTitle,
                MoveOriginatorMessageID: options.moveOriginator.messageId,
              }
            : {}),
        },
        await dataset(instance),
      )) {
        status = Number(rsp.command.Status);
      }
      return status;
    } catch {
      return undefined;
    }
  }
}
