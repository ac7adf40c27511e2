/**
 * The audit event model of DICOM PS3.15 A.5 (the RFC 3881 / ATNA message), one shape for every event Lantern
 * records. Codes are DCM codes of PS3.16 (CID 400 event IDs, CID 401-403 event types, CID 402 role IDs, CID
 * 404 participant object ID types).
 */
export interface Code {
  readonly code: string;
  readonly system: string;
  readonly display: string;
}

const dcm = (code: string, display: string): Code => ({ code, system: 'DCM', display });
const rfc3881 = (code: string, display: string): Code => ({ code, system: 'RFC-3881', display });

/** Event IDs (PS3.15 A.5.3, CID 400). */
export const EVENT = {
  applicationActivity: dcm('110100', 'Application Activity'),
  auditLogUsed: dcm('110101', 'Audit Log Used'),
  beginTransferring: dcm('110102', 'Begin Transferring DICOM Instances'),
  instancesAccessed: dcm('110103', 'DICOM Instances Accessed'),
  instancesTransferred: dcm('110104', 'DICOM Instances Transferred'),
  studyDeleted: dcm('110105', 'DICOM Study Deleted'),
  export: dcm('110106', 'Export'),
  import: dcm('110107', 'Import'),
  networkEntry: dcm('110108', 'Network Entry'),
  orderRecord: dcm('110109', 'Order Record'),
  patientRecord: dcm('110110', 'Patient Record'),
  procedureRecord: dcm('110111', 'Procedure Record'),
  query: dcm('110112', 'Query'),
  securityAlert: dcm('110113', 'Security Alert'),
  userAuthentication: dcm('110114', 'User Authentication'),
} as const;

/** Event type codes (CID 401, 403). */
export const EVENT_TYPE = {
  applicationStart: dcm('110120', 'Application Start'),
  applicationStop: dcm('110121', 'Application Stop'),
  login: dcm('110122', 'Login'),
  logout: dcm('110123', 'Logout'),
  nodeAuthentication: dcm('110126', 'Node Authentication'),
  emergencyOverrideStarted: dcm('110127', 'Emergency Override Started'),
  networkConfiguration: dcm('110128', 'Network Configuration'),
  securityConfiguration: dcm('110129', 'Security Configuration'),
  softwareConfiguration: dcm('110131', 'Software Configuration'),
  useOfRestrictedFunction: dcm('110132', 'Use of Restricted Function'),
  auditRecordingStopped: dcm('110133', 'Audit Recording Stopped'),
  auditRecordingStarted: dcm('110134', 'Audit Recording Started'),
  securityRolesChanged: dcm('110136', 'Security Roles Changed'),
  userSecurityAttributesChanged: dcm('110137', 'User security Attributes Changed'),
} as const;

/** Participant role IDs (CID 402). */
export const ROLE = {
  application: dcm('110150', 'Application'),
  applicationLauncher: dcm('110151', 'Application Launcher'),
  destination: dcm('110152', 'Destination Role ID'),
  source: dcm('110153', 'Source Role ID'),
} as const;

/** Participant object ID types (RFC 3881 and CID 404). */
export const OBJECT_ID = {
  patientNumber: rfc3881('2', 'Patient Number'),
  userIdentifier: rfc3881('11', 'User Identifier'),
  studyInstanceUid: dcm('110180', 'Study Instance UID'),
  sopClassUid: dcm('110181', 'SOP Class UID'),
  nodeId: dcm('110182', 'Node ID'),
} as const;

export type Action = 'C' | 'R' | 'U' | 'D' | 'E';
/** 0 success, 4 minor failure, 8 serious failure, 12 major failure. */
export type Outcome = 0 | 4 | 8 | 12;

export interface Participant {
  /** `login@site` for people, the AE title for DICOM peers, the process for Lantern itself. */
  readonly userId: string;
  readonly altUserId?: string;
  readonly userName?: string;
  readonly requestor: boolean;
  readonly roles?: readonly Code[];
  /** Host name or IP address. */
  readonly networkAccessPoint?: string;
}

export interface ParticipantObject {
  /** 1 person, 2 system object. */
  readonly typeCode: 1 | 2;
  /** 1 patient, 3 report, 6 user, 13 security resource, 24 query. */
  readonly role: number;
  readonly idType: Code;
  readonly id: string;
  readonly name?: string;
  /** Query events: the query itself (base64 of its text). */
  readonly query?: string;
  /**
   * Study objects: the SOP classes, how many instances of each, and where the event names them (objects
   * received) their SOP Instance UIDs (PS3.15 A.5.1, SOPClass/Instance).
   */
  readonly sopClasses?: readonly SopClassCount[];
  readonly detail?: Readonly<Record<string, string>>;
}

/** A SOP class of a study object: how many instances, and their UIDs when the event names them. */
export interface SopClassCount {
  readonly uid: string;
  readonly instances: number;
  readonly instanceUids?: readonly string[];
}

export interface AuditEvent {
  readonly eventId: Code;
  readonly action: Action;
  /** ISO 8601 in UTC with its offset (+00:00). */
  readonly at: string;
  readonly outcome: Outcome;
  readonly outcomeDescription?: string;
  readonly types?: readonly Code[];
  readonly participants: readonly Participant[];
  readonly source: { readonly id: string; readonly site?: string };
  readonly objects?: readonly ParticipantObject[];
}

/** Time for audit records: UTC with an explicit +00:00 offset. */
export function auditTime(d: Date): string {
  return d.toISOString().replace('Z', '+00:00');
}

/** The patient participant object. */
export function patientObject(patientId: string, name?: string): ParticipantObject {
  return { typeCode: 1, role: 1, idType: OBJECT_ID.patientNumber, id: patientId, name };
}

/** A study participant object, with its SOP classes and instance counts. */
export function studyObject(studyUid: string, sopClasses: readonly SopClassCount[] = []): ParticipantObject {
  return { typeCode: 2, role: 3, idType: OBJECT_ID.studyInstanceUid, id: studyUid, sopClasses };
}
