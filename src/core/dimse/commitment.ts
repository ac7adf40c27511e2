import { Dataset, EXPLICIT_LITTLE } from '../dicom/dataset.js';
import { Tag } from '../dicom/dictionary.js';
import { numberElement, sequenceElement, stringElement } from '../dicom/encode.js';
import { getNumber, getString } from '../dicom/values.js';
import { Status } from './status.js';

/** The well-known SOP Instance of the Storage Commitment Push Model (PS3.4 J.3.5). */
export const STORAGE_COMMITMENT_INSTANCE = '1.2.840.10008.1.20.1.1';

/** N-ACTION Action Type ID "Request Storage Commitment" (PS3.4 J.3.2.1). */
export const REQUEST_COMMITMENT_ACTION = 1;

/** N-EVENT-REPORT Event Type IDs (PS3.4 J.3.3.1): every instance committed, or some failed. */
export const COMMITMENT_EVENT = { allCommitted: 1, someFailed: 2 } as const;

/** One instance a commitment is asked or reported for. */
export interface CommitmentRef {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
}

/** What a Storage Commitment report says (the N-EVENT-REPORT data set, PS3.4 J.3.3.1.1). */
export interface CommitmentReport {
  readonly transactionUid: string;
  readonly committed: readonly CommitmentRef[];
  /** With the PS3.4 Failure Reason: 0112H not stored, 0119H SOP class differs, 0110H processing failure. */
  readonly failed: readonly (CommitmentRef & { readonly reason: number })[];
  /** Where the committed instances can be retrieved from, when the report names it. */
  readonly retrieveAeTitle?: string;
}

function refItem(r: CommitmentRef, reason?: number): Dataset {
  return new Dataset(
    [
      stringElement(Tag.ReferencedSOPClassUID, 'UI', [r.sopClassUid]),
      stringElement(Tag.ReferencedSOPInstanceUID, 'UI', [r.sopInstanceUid]),
      ...(reason === undefined ? [] : [numberElement(Tag.FailureReason, 'US', [reason])]),
    ],
    EXPLICIT_LITTLE,
  );
}

function refsOf(ds: Dataset, tag: number): (CommitmentRef & { reason?: number })[] {
  return (ds.get(tag)?.items ?? []).map((it) => ({
    sopClassUid: getString(it.dataset, Tag.ReferencedSOPClassUID) ?? '',
    sopInstanceUid: getString(it.dataset, Tag.ReferencedSOPInstanceUID) ?? '',
    reason: getNumber(it.dataset, Tag.FailureReason),
  }));
}

/** The N-ACTION-RQ data set asking a peer to commit to `refs` (PS3.4 J.3.2.1.1). */
export function commitmentRequest(transactionUid: string, refs: readonly CommitmentRef[]): Dataset {
  return new Dataset(
    [
      stringElement(Tag.TransactionUID, 'UI', [transactionUid]),
      sequenceElement(
        Tag.ReferencedSOPSequence,
        refs.map((r) => refItem(r)),
      ),
    ],
    EXPLICIT_LITTLE,
  );
}

/** An N-ACTION-RQ data set read: its Transaction UID and the instances it names (either may be missing). */
export function readCommitmentRequest(ds: Dataset): {
  readonly transactionUid: string | undefined;
  readonly refs: readonly CommitmentRef[];
} {
  return {
    transactionUid: getString(ds, Tag.TransactionUID),
    refs: refsOf(ds, Tag.ReferencedSOPSequence).map(({ sopClassUid, sopInstanceUid }) => ({
      sopClassUid,
      sopInstanceUid,
    })),
  };
}

/** The N-EVENT-REPORT-RQ data set of a report. */
export function commitmentReportDataset(report: CommitmentReport): Dataset {
  let ds = new Dataset([stringElement(Tag.TransactionUID, 'UI', [report.transactionUid])], EXPLICIT_LITTLE);
  if (report.retrieveAeTitle)
    ds = ds.with(stringElement(Tag.RetrieveAETitle, 'AE', [report.retrieveAeTitle]));
  if (report.committed.length)
    ds = ds.with(
      sequenceElement(
        Tag.ReferencedSOPSequence,
        report.committed.map((r) => refItem(r)),
      ),
    );
  if (report.failed.length)
    ds = ds.with(
      sequenceElement(
        Tag.FailedSOPSequence,
        report.failed.map((r) => refItem(r, r.reason)),
      ),
    );
  return ds;
}

/** The Event Type ID a report goes with. */
export function commitmentEventType(report: CommitmentReport): number {
  return report.failed.length ? COMMITMENT_EVENT.someFailed : COMMITMENT_EVENT.allCommitted;
}

/**
 * An N-EVENT-REPORT-RQ data set read; undefined without a Transaction UID. A failed instance without a
 * Failure Reason is reported as a processing failure (0110H).
 */
export function readCommitmentReport(ds: Dataset): CommitmentReport | undefined {
  const transactionUid = getString(ds, Tag.TransactionUID);
  if (!transactionUid) return undefined;
  return {
    transactionUid,
    committed: refsOf(ds, Tag.ReferencedSOPSequence).map(({ sopClassUid, sopInstanceUid }) => ({
      sopClassUid,
      sopInstanceUid,
    })),
    failed: refsOf(ds, Tag.FailedSOPSequence).map((r) => ({
      sopClassUid: r.sopClassUid,
      sopInstanceUid: r.sopInstanceUid,
      reason: r.reason ?? Status.ProcessingFailure,
    })),
    retrieveAeTitle: getString(ds, Tag.RetrieveAETitle),
  };
}
