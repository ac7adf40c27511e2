import { peerActor } from './actor.js';
import type { StoredPerAssociation } from './stored-log.js';
import { CommandTag } from '../../core/dimse/command.js';
import { Status } from '../../core/dimse/status.js';
import type { IngestService } from '../../services/ingest.js';
import type {
  AssociationInfo,
  DimseHandler,
  DimseRequest,
  DimseResponse,
} from '../../net/dimse/association.js';

/**
 * C-STORE (PS3.4 B): the data set streams into the ingest service as it arrives, with the SOP class and
 * instance the command declares checked against it. An object the archive holds back in quarantine is
 * acknowledged with a warning (the modality must not resend it; the archive keeps it and says why).
 * The caller's store permission is read once per association (a registry change applies to the next one).
 * The association's objects are one transfer (`log`): the ingest service records each it acknowledges, and
 * this counts the refused ones.
 */
export function store(
  ingest: IngestService,
  permits: (callingAeTitle: string) => Promise<boolean>,
  log?: StoredPerAssociation,
): DimseHandler {
  const decided = new WeakMap<AssociationInfo, Promise<boolean>>();
  return async (req, assoc) => {
    // What fails in the ingest service is counted there; what is refused before it, here.
    const step = { ingesting: false };
    let response: DimseResponse;
    try {
      response = await storeOne(req, assoc, step);
    } catch (e) {
      if (!step.ingesting) log?.failed(assoc);
      throw e;
    }
    if (response.status !== Status.Success && response.status !== Status.CoercionOfDataElements) {
      log?.failed(assoc);
    }
    return response;
  };

  async function storeOne(
    req: DimseRequest,
    assoc: AssociationInfo,
    step: { ingesting: boolean },
  ): Promise<DimseResponse> {
    const cmd = req.command;
    let allowed = decided.get(assoc);
    if (!allowed) {
      allowed = permits(assoc.callingAeTitle);
      decided.set(assoc, allowed);
      allowed.catch(() => decided.delete(assoc));
    }
    if (!(await allowed)) {
      await drain(req.dataset);
      return { status: Status.NotAuthorized, fields: { ErrorComment: 'this AE may not store here' } };
    }
    if (!req.dataset) {
      return { status: Status.MissingAttribute, fields: { ErrorComment: 'C-STORE without a data set' } };
    }
    const sopClass = String(cmd.AffectedSOPClassUID ?? '');
    const sopInstance = String(cmd.AffectedSOPInstanceUID ?? '');
    if (!sopClass || !sopInstance) {
      return {
        status: Status.MissingAttribute,
        fields: {
          ErrorComment: 'Affected SOP Class or Instance UID missing',
          OffendingElement: [sopClass ? CommandTag.AffectedSOPInstanceUID : CommandTag.AffectedSOPClassUID],
        },
      };
    }
    if (sopClass !== req.context.abstractSyntax) {
      return {
        status: Status.SopClassNotSupported,
        fields: { ErrorComment: 'SOP class differs from the presentation context' },
      };
    }
    step.ingesting = true;
    const outcome = await ingest.ingest({
      chunks: req.dataset,
      source: assoc.callingAeTitle,
      transferSyntaxUid: req.context.transferSyntax,
      expectSopClassUid: sopClass,
      expectSopInstanceUid: sopInstance,
      actor: peerActor(assoc, ['study.store']),
      transfer: log?.of(assoc),
    });
    if (outcome.status === 'quarantined') {
      return {
        status: Status.CoercionOfDataElements,
        fields: { ErrorComment: `quarantined: ${outcome.reason}`.slice(0, 64) },
      };
    }
    return { status: Status.Success };
  }
}

async function drain(data: AsyncIterable<Uint8Array> | undefined): Promise<void> {
  if (data) for await (const _ of data) void _;
}
