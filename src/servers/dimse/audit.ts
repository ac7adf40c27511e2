import { EVENT, EVENT_TYPE, OBJECT_ID, type Participant, ROLE } from '../../core/audit/events.js';
import type { Index, InstanceRow } from '../../ports/index.js';
import { type AuditService, studyObjects } from '../../services/audit.js';

import type { AssociationInfo } from './association.js';

/**
 * Audit events of the DICOM services. Associations admitted or refused are Security Alerts (node
 * authentication); each C-FIND is a Query recorded before it runs; each C-MOVE and C-GET records the
 * instances it is about to send; C-STOREs are gathered per association and recorded as one DICOM Instances
 * Transferred event per association when it ends (recording each of thousands of objects alone would
 * cost ingest more than the issue allows, and PS3.15 A.5.3.4 describes the event per transfer, not per object).
 */
export class DimseAudit {
  private readonly stores = new WeakMap<AssociationInfo, { studyUid: string; sopClassUid: string }[]>();

  constructor(
    private readonly audit: AuditService,
    private readonly index: Index,
  ) {}

  private peer(
    assoc: { callingAeTitle: string; remoteAddress: string; user?: { login: string } },
    requestor: boolean,
  ): Participant {
    return {
      userId: assoc.callingAeTitle,
      ...(assoc.user ? { altUserId: `${assoc.user.login}@${this.audit.settings.site}` } : {}),
      requestor,
      networkAccessPoint: assoc.remoteAddress.replace(/^::ffff:/, ''),
    };
  }

  async association(
    callingAeTitle: string,
    address: string,
    accepted: boolean,
    reason?: string,
  ): Promise<void> {
    await this.audit.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: accepted ? 0 : 4,
      outcomeDescription: accepted ? 'association accepted' : `association rejected: ${reason ?? ''}`,
      types: [EVENT_TYPE.nodeAuthentication],
      participants: [this.peer({ callingAeTitle, remoteAddress: address }, true), this.audit.self()],
    });
  }

  stored(assoc: AssociationInfo, instance: { studyUid: string; sopClassUid: string }): void {
    const list = this.stores.get(assoc) ?? [];
    list.push(instance);
    this.stores.set(assoc, list);
  }

  /** At the end of an association: the instances it stored. */
  async ended(assoc: AssociationInfo): Promise<void> {
    const list = this.stores.get(assoc);
    if (!list?.length) return;
    this.stores.delete(assoc);
    await this.audit.record({
      eventId: EVENT.instancesTransferred,
      action: 'C',
      outcome: 0,
      participants: [
        { ...this.peer(assoc, true), roles: [ROLE.source] },
        { ...this.audit.self(), roles: [ROLE.destination] },
      ],
      objects: await studyObjects(this.index, list),
    });
  }

  async query(assoc: AssociationInfo, sopClassUid: string, identifier: Uint8Array): Promise<void> {
    await this.audit.record({
      eventId: EVENT.query,
      action: 'E',
      outcome: 0,
      participants: [this.peer(assoc, true), this.audit.self()],
      objects: [
        {
          typeCode: 2,
          role: 24,
          idType: OBJECT_ID.sopClassUid,
          id: sopClassUid,
          query: Buffer.from(identifier).toString('base64'),
        },
      ],
    });
  }

  /** Storage commitment (N-ACTION): the instances checked for the requestor, before the report is sent. */
  async commitment(assoc: AssociationInfo, committed: readonly InstanceRow[], failed: number): Promise<void> {
    await this.audit.record({
      eventId: EVENT.instancesAccessed,
      action: 'R',
      outcome: failed ? 4 : 0,
      outcomeDescription: `storage commitment: ${committed.length} committed, ${failed} failed`,
      participants: [this.peer(assoc, true), this.audit.self()],
      objects: await studyObjects(this.index, committed),
    });
  }

  /** Before a C-MOVE or C-GET sends: the instances, from Lantern to the destination. */
  async retrieving(assoc: AssociationInfo, rows: readonly InstanceRow[], destination: string): Promise<void> {
    if (!rows.length) return;
    await this.audit.record({
      eventId: EVENT.instancesTransferred,
      action: 'R',
      outcome: 0,
      participants: [
        { ...this.audit.self(), roles: [ROLE.source] },
        {
          ...this.peer(assoc, true),
          roles: destination === assoc.callingAeTitle ? [ROLE.destination] : undefined,
        },
        ...(destination !== assoc.callingAeTitle
          ? [{ userId: destination, requestor: false, roles: [ROLE.destination] }]
          : []),
      ],
      objects: await studyObjects(this.index, rows),
    });
  }
}
