import type { AuditEvent, Code, ParticipantObject } from './events.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const systemOf = (c: Code) =>
  c.system === 'DCM' ? DCM : c.system === 'RFC-3881' ? 'urn:ietf:rfc:3881' : c.system;
const coding = (c: Code) => ({ system: systemOf(c), code: c.code, display: c.display });
const ROLE_CODES: Record<number, string> = {
  1: 'patient',
  3: 'report',
  6: 'user',
  13: 'security resource',
  24: 'query',
};

function entity(o: ParticipantObject) {
  const detail = [
    ...(o.sopClasses ?? []).flatMap((s) => [
      { type: 'sopClass', valueString: `${s.uid}:${s.instances}` },
      ...(s.instanceUids ?? []).map((uid) => ({ type: 'sopInstance', valueString: uid })),
    ]),
    ...Object.entries(o.detail ?? {}).map(([type, valueString]) => ({ type, valueString })),
  ];
  return {
    what: {
      identifier: { type: { coding: [coding(o.idType)] }, value: o.id },
      ...(o.name ? { display: o.name } : {}),
    },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: String(o.typeCode) },
    role: {
      system: 'http://terminology.hl7.org/CodeSystem/object-role',
      code: String(o.role),
      display: ROLE_CODES[o.role],
    },
    ...(o.query ? { query: o.query } : {}),
    ...(detail.length ? { detail } : {}),
  };
}

/** An audit event as a FHIR R4 AuditEvent (the shape IHE BALP profiles), with its record number as id. */
export function toFhirAuditEvent(id: number, e: AuditEvent): Record<string, unknown> {
  return {
    resourceType: 'AuditEvent',
    id: String(id),
    type: coding(e.eventId),
    ...(e.types?.length ? { subtype: e.types.map(coding) } : {}),
    action: e.action,
    recorded: e.at,
    outcome: String(e.outcome),
    ...(e.outcomeDescription ? { outcomeDesc: e.outcomeDescription } : {}),
    agent: e.participants.map((p) => ({
      who: { identifier: { value: p.userId } },
      ...(p.altUserId ? { altId: p.altUserId } : {}),
      ...(p.userName ? { name: p.userName } : {}),
      requestor: p.requestor,
      ...(p.roles?.length ? { role: [{ coding: p.roles.map(coding) }] } : {}),
      ...(p.networkAccessPoint
        ? {
            network: {
              address: p.networkAccessPoint,
              type: /^[\d.:a-f]+$/i.test(p.networkAccessPoint) ? '2' : '1',
            },
          }
        : {}),
    })),
    source: {
      site: e.source.site,
      observer: { display: e.source.id },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }],
    },
    ...(e.objects?.length ? { entity: e.objects.map(entity) } : {}),
  };
}
