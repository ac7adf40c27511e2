import type { FastifyRequest } from 'fastify';
import { EVENT, OBJECT_ID, ROLE } from '../../../core/audit/events.js';
import { studyObjects } from '../../../services/audit.js';
import type { App } from '../../../app.js';
import type { InstanceRow } from '../../../ports/index.js';

/**
 * Records a DICOMweb read before its answer is sent: whole objects leaving the archive are "DICOM Instances
 * Transferred"; metadata, frames, rendered images and bulk data are "DICOM Instances Accessed".
 */
export async function auditRead(
  app: App,
  req: FastifyRequest,
  rows: readonly InstanceRow[],
  kind: 'transferred' | 'accessed',
): Promise<void> {
  const requestor = {
    ...app.audit.participant(req.actor, true, req.ip),
    roles: kind === 'transferred' ? [ROLE.destination] : undefined,
  };
  await app.audit.record({
    eventId: kind === 'transferred' ? EVENT.instancesTransferred : EVENT.instancesAccessed,
    action: 'R',
    outcome: 0,
    participants: [
      requestor,
      { ...app.audit.self(), roles: kind === 'transferred' ? [ROLE.source] : undefined },
    ],
    objects: await studyObjects(app.index, rows),
  });
}

/** Records a QIDO-RS query before it runs (the query text, base64, as PS3.15 A.5.3.12 asks). */
export async function auditQuery(app: App, req: FastifyRequest, rawQuery: string): Promise<void> {
  await app.audit.record({
    eventId: EVENT.query,
    action: 'E',
    outcome: 0,
    participants: [app.audit.participant(req.actor, true, req.ip), app.audit.self()],
    objects: [
      {
        typeCode: 2,
        role: 24,
        idType: OBJECT_ID.sopClassUid,
        id: '1.2.840.10008.5.1.4.1.2.2.1',
        query: Buffer.from(`${req.url.split('?')[0]}?${rawQuery}`).toString('base64'),
      },
    ],
  });
}

/** Records a STOW-RS request's stored instances (DICOM Instances Transferred, create). */
export async function auditStore(
  app: App,
  req: FastifyRequest,
  stored: readonly { studyUid?: string; sopClassUid?: string }[],
  failed: number,
): Promise<void> {
  const ok = stored.filter(
    (s): s is { studyUid: string; sopClassUid: string } => !!s.studyUid && !!s.sopClassUid,
  );
  await app.audit.record({
    eventId: EVENT.instancesTransferred,
    action: 'C',
    outcome: failed === 0 ? 0 : ok.length ? 4 : 8,
    outcomeDescription: failed ? `${failed} part(s) not stored` : undefined,
    participants: [
      { ...app.audit.participant(req.actor, true, req.ip), roles: [ROLE.source] },
      { ...app.audit.self(), roles: [ROLE.destination] },
    ],
    objects: await studyObjects(app.index, ok),
  });
}
