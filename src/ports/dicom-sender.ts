import type { CommitmentRef, CommitmentReport } from '../core/dimse/commitment.js';

/** A DICOM peer to send instances to: an AE of the registry with its address. */
export interface StoreDestination {
  readonly aeTitle: string;
  readonly host: string;
  readonly port: number;
}

/** One instance to send, in the transfer syntax it is stored in. */
export interface OutgoingInstance {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
}

export interface SendOptions {
  /** Our AE title, as the calling AE. */
  readonly callingAeTitle: string;
  /** The C-MOVE these C-STOREs are sub-operations of (Move Originator AE Title and Message ID). */
  readonly moveOriginator?: { readonly aeTitle: string; readonly messageId: number };
  /** Stops between instances, and the store under way. */
  readonly signal?: AbortSignal;
  /** How long the peer may take to answer one C-STORE (default: the sender's own). */
  readonly responseTimeoutMs?: number;
}

/**
 * Sends instances to a DICOM peer with C-STORE (PS3.4 B), each in its stored transfer syntax, on one
 * association; used by C-MOVE and, later, routing, forwarding and migration. The results come in order,
 * one per instance, as the peer answers (its C-STORE status; undefined when the instance could not be sent:
 * no context accepted for its SOP class and syntax, or the association ended). When no association can be
 * made at all, the iteration fails with LNT_DIMSE_ASSOCIATION.
 */
export interface DicomSender {
  send<T extends OutgoingInstance>(
    to: StoreDestination,
    instances: readonly T[],
    /** The data set bytes of an instance (no meta header), read when it is its turn. */
    dataset: (instance: T) => Promise<AsyncIterable<Uint8Array>>,
    options: SendOptions,
  ): AsyncIterable<{ readonly instance: T; readonly status: number | undefined }>;
  /**
   * Asks the peer to commit to keeping instances (Storage Commitment Push Model, PS3.4 J): an N-ACTION on an
   * association of its own, which stays open, ready for the peer's N-EVENT-REPORT, until `until` settles
   * (the report came, here or on a new association to our listener, or the wait is over). Reports that
   * come on this association go to `onReport`. Resolves with the N-ACTION status once the association is
   * closed; fails with LNT_DIMSE_ASSOCIATION when none can be made or the peer does not take the SOP class.
   */
  /**
   * C-ECHO (Verification, PS3.4 A): whether the peer answers at all. Resolves with its status; fails with
   * LNT_DIMSE_ASSOCIATION when no association can be made or it does not take Verification.
   */
  echo(to: StoreDestination, options: SendOptions): Promise<number>;
  requestCommitment(
    to: StoreDestination,
    request: { readonly transactionUid: string; readonly refs: readonly CommitmentRef[] },
    options: SendOptions & {
      readonly until: Promise<unknown>;
      readonly onReport: (report: CommitmentReport) => void;
    },
  ): Promise<number>;
}
