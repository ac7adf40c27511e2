import { Tag } from '../../core/dicom/dictionary.js';
import { parseDicom } from '../../core/dicom/parser.js';
import {
  type CommitmentReport,
  readCommitmentReport,
  STORAGE_COMMITMENT_INSTANCE,
} from '../../core/dimse/commitment.js';
import { ServiceSopClass } from '../../core/dimse/sop-classes.js';
import { Status } from '../../core/dimse/status.js';
import type { AssociationInfo, DimseHandler } from './association.js';

/** The largest Storage Commitment report read (about 8,000 instances). */
const MAX_REPORT = 1024 * 1024;

/**
 * The N-EVENT-REPORT-RQ service of a Storage Commitment SCU (PS3.4 J.3.3): the report is read (at most
 * 1 MiB), handed to `onReport`, and acknowledged; a report without a Transaction UID is refused (0120H).
 * The same on the request's own association (the sender) and on a new one to the listener.
 */
export function commitmentReportHandler(
  onReport: (report: CommitmentReport, assoc: AssociationInfo) => void,
): DimseHandler {
  return async (req, assoc) => {
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of req.dataset ?? []) {
      n += c.length;
      if (n > MAX_REPORT)
        return { status: Status.ResourceLimitation, fields: { ErrorComment: 'report larger than 1 MiB' } };
      parts.push(c);
    }
    const r = readCommitmentReport(
      parseDicom(Buffer.concat(parts), { assumeTransferSyntax: req.context.transferSyntax }).dataset,
    );
    if (!r)
      return {
        status: Status.MissingAttribute,
        fields: { ErrorComment: 'Transaction UID missing', OffendingElement: [Tag.TransactionUID] },
      };
    onReport(r, assoc);
    return {
      status: Status.Success,
      fields: {
        AffectedSOPClassUID: ServiceSopClass.StorageCommitmentPushModel,
        AffectedSOPInstanceUID: STORAGE_COMMITMENT_INSTANCE,
        EventTypeID: Number(req.command.EventTypeID),
      },
    };
  };
}
