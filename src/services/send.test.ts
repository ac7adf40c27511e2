import { describe, expect, it } from 'vitest';
import type { CommitmentRef, CommitmentReport } from '../core/dimse/commitment.js';
import { Status } from '../core/dimse/status.js';
import type { InstanceRow } from '../ports/archive-index.js';
import type { DicomSender } from '../ports/dicom-sender.js';
import type { RetrieveService } from './retrieve.js';
import { SendService } from './send.js';

/**
 * The send service's own rules for storage commitment, with a sender that stands for the network: which
 * report counts, what a late or missing report means. The network path itself is tested against a second
 * Lantern and Orthanc (test/interop/send-commitment.test.ts).
 */
const receivedAt = new Date().toISOString();
const row = (n: number): InstanceRow => ({
  id: n,
  sopInstanceUid: `1.2.3.${n}`,
  sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
  studyUid: '1.2.3',
  seriesUid: '1.2.3.0',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  blobKey: `k${n}`,
  size: 1,
  sha256: '',
  receivedAt,
  integrity: '',
  verifiedAt: '',
});

/** A sender whose peer answers the N-ACTION with `status` and then does what `then` says with the request. */
function sender(
  status: number,
  then: (
    req: { transactionUid: string; refs: readonly CommitmentRef[] },
    onReport: (r: CommitmentReport) => void,
  ) => void,
): DicomSender {
  return {
    send: () => {
      throw new Error('not used here');
    },
    echo: () => {
      throw new Error('not used here');
    },
    requestCommitment: async (_to, req, options) => {
      if (status === Status.Success) {
        then(req, options.onReport);
        await options.until;
      }
      return status;
    },
  };
}

const to = { aeTitle: 'PEER', host: '127.0.0.1', port: 104 };
const options = { callingAeTitle: 'LANTERN', timeoutMs: 10_000 };
const retrieve = {} as RetrieveService;

describe('SendService.commit', () => {
  it('sorts the instances by the report: committed, failed with the reason, not answered', async () => {
    const service = new SendService(
      sender(Status.Success, (req, onReport) =>
        onReport({
          transactionUid: req.transactionUid,
          committed: [req.refs[0], { sopClassUid: '1.2', sopInstanceUid: '9.9.9' }],
          failed: [{ ...req.refs[1], reason: Status.NoSuchSopInstance }],
        }),
      ),
      retrieve,
    );
    const out = await service.commit(to, [row(1), row(2), row(3)], options);
    expect(out.committed).toEqual([row(1)]);
    expect(out.failed).toEqual([{ instance: row(2), reason: Status.NoSuchSopInstance }]);
    expect(out.unanswered).toEqual([row(3)]);
  });

  it('takes a report only from the AE it asked, for a transaction it waits for', async () => {
    let txUid = '';
    const service: SendService = new SendService(
      sender(Status.Success, (req) => {
        txUid = req.transactionUid;
        // Another AE claims the transaction first: ignored. A report for no transaction: ignored.
        const report = { transactionUid: req.transactionUid, committed: req.refs, failed: [] };
        expect(service.reported(report, 'INTRUDER')).toBe(false);
        expect(service.reported({ ...report, transactionUid: '1.2.3.4' }, 'PEER')).toBe(false);
        setImmediate(() => expect(service.reported(report, 'PEER')).toBe(true));
      }),
      retrieve,
    );
    const out = await service.commit(to, [row(1)], options);
    expect(out.committed).toEqual([row(1)]);
    // Answered once: the transaction no longer waits.
    expect(service.reported({ transactionUid: txUid, committed: [], failed: [] }, 'PEER')).toBe(false);
  });

  it('without a report in time, every instance is unanswered', async () => {
    const service = new SendService(
      sender(Status.Success, () => undefined),
      retrieve,
    );
    const out = await service.commit(to, [row(1), row(2)], { ...options, timeoutMs: 50 });
    expect(out.committed).toEqual([]);
    expect(out.unanswered).toEqual([row(1), row(2)]);
  });

  it('a refused request commits nothing and waits for nothing', async () => {
    const service = new SendService(
      sender(Status.ProcessingFailure, () => undefined),
      retrieve,
    );
    const out = await service.commit(to, [row(1)], options);
    expect(out.requestStatus).toBe(Status.ProcessingFailure);
    expect(out.unanswered).toEqual([row(1)]);
  });
});
