import { describe, expect, it } from 'vitest';
import { EVENT, patientObject, ROLE, studyObject } from './events.js';
import { toAuditMessageXml } from './xml.js';
import { toFhirAuditEvent } from './fhir.js';

const event = {
  eventId: EVENT.instancesTransferred,
  action: 'C' as const,
  at: '2026-01-02T03:04:05.000+00:00',
  outcome: 0 as const,
  participants: [{ userId: 'CT1', requestor: true, roles: [ROLE.source] }],
  source: { id: 'LANTERN' },
  objects: [
    patientObject('P1'),
    studyObject('1.2.3', [
      { uid: '1.2.840.10008.5.1.4.1.1.2', instances: 2, instanceUids: ['1.2.3.1', '1.2.3.2'] },
      { uid: '1.2.840.10008.5.1.4.1.1.7', instances: 1 },
    ]),
  ],
};

describe('audit message of objects received', () => {
  it('names each instance under its SOP class (PS3.15 A.5.1 SOPClass/Instance), counts where not named', () => {
    const xml = toAuditMessageXml(event);
    expect(xml).toContain(
      '<ParticipantObjectDescription><SOPClass UID="1.2.840.10008.5.1.4.1.1.2" NumberOfInstances="2">' +
        '<Instance UID="1.2.3.1"/><Instance UID="1.2.3.2"/></SOPClass>' +
        '<SOPClass UID="1.2.840.10008.5.1.4.1.1.7" NumberOfInstances="1"/></ParticipantObjectDescription>',
    );
  });

  it('and in FHIR, one detail per instance after its SOP class', () => {
    const fhir = toFhirAuditEvent(1, event) as {
      entity: { detail?: { type: string; valueString: string }[] }[];
    };
    expect(fhir.entity[1].detail).toEqual([
      { type: 'sopClass', valueString: '1.2.840.10008.5.1.4.1.1.2:2' },
      { type: 'sopInstance', valueString: '1.2.3.1' },
      { type: 'sopInstance', valueString: '1.2.3.2' },
      { type: 'sopClass', valueString: '1.2.840.10008.5.1.4.1.1.7:1' },
    ]);
  });
});
