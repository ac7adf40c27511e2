import type { AttributeChange } from '../core/dicom/edit.js';
import type { JsonDataset } from '../core/dicom/json.js';
import type { QueryLevel } from '../core/query/levels.js';

/** What the archive records about one stored instance, level by level. */
export interface InstanceRecord {
  readonly patient: {
    readonly patientId: string;
    readonly issuer: string;
    readonly name: string;
    readonly birthDate: string;
    readonly sex: string;
    readonly attrs: JsonDataset;
  };
  readonly study: {
    readonly studyUid: string;
    readonly date: string;
    readonly time: string;
    readonly accessionNumber: string;
    readonly studyId: string;
    readonly description: string;
    readonly referringPhysician: string;
    readonly attrs: JsonDataset;
  };
  readonly series: {
    readonly seriesUid: string;
    readonly modality: string;
    readonly number: number | null;
    readonly description: string;
    readonly attrs: JsonDataset;
  };
  readonly instance: {
    readonly sopInstanceUid: string;
    readonly sopClassUid: string;
    readonly number: number | null;
    readonly transferSyntaxUid: string;
    readonly blobKey: string;
    readonly size: number;
    readonly sha256: string;
    /** The whole dataset as DICOM JSON text (PS3.18 F), bulk values left out. */
    readonly attrsJson: string;
    readonly receivedAt: string;
    readonly sourceAet: string;
  };
}

export interface PatientRow {
  readonly id: number;
  readonly patientId: string;
  readonly issuer: string;
  readonly name: string;
  readonly birthDate: string;
  readonly sex: string;
}

export interface StudyRow {
  readonly id: number;
  readonly patientFk: number;
  readonly studyUid: string;
  readonly patientId: string;
  /** The issuer of its patient's ID. */
  readonly patientIssuer: string;
}

export interface InstanceRow {
  readonly id: number;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly studyUid: string;
  readonly seriesUid: string;
  readonly transferSyntaxUid: string;
  readonly blobKey: string;
  readonly size: number;
  readonly sha256: string;
  /** When the object was stored (ISO 8601, UTC). */
  readonly receivedAt: string;
  /** What its last integrity check found: '' whole (or not checked yet), else what is wrong. */
  readonly integrity: Integrity;
  /** When it was last checked ('' never). */
  readonly verifiedAt: string;
}

/** A stored object's state as its last integrity check found it. */
export type Integrity = '' | 'mismatch' | 'missing';

export interface QuarantineRecord {
  readonly blobKey: string;
  readonly reasonCode: string;
  readonly reason: string;
  readonly sopInstanceUid: string;
  readonly studyUid: string;
  readonly patientId: string;
  readonly size: number;
  readonly sha256: string;
  readonly receivedAt: string;
  readonly sourceAet: string;
}

/** What the index knows of a study's transfers, for its state in the study list. */
export interface StudyTransferRow {
  /** When an instance was last added to the study (ISO 8601, UTC). */
  readonly lastReceivedAt: string;
  /** Why the last transfer into the study did not complete ('' when it did). */
  readonly transferProblem: string;
  readonly transferProblemAt: string;
  /** Objects of this study held in quarantine. */
  readonly quarantined: number;
}

/**
 * A filter the index can apply to narrow a query, on an attribute (a tag) of the level or its parents. It
 * may return more rows than match (a superset): the query service applies the exact PS3.4 matching
 * afterwards. An index applies the filters on the attributes it keeps in columns and may ignore the others.
 * PatientName filters compare with the name upper-cased (`like`), or with its name keys (`nameKeys`).
 */
export type IndexFilter =
  | { readonly tag: number; readonly op: 'eq'; readonly value: string }
  | { readonly tag: number; readonly op: 'in'; readonly values: readonly string[] }
  | { readonly tag: number; readonly op: 'like'; readonly pattern: string }
  | { readonly tag: number; readonly op: 'range'; readonly low?: string; readonly high?: string }
  /**
   * Fuzzy person name candidates (core/query/person-name.ts): patients with, for every lookup, a name key
   * starting with `prefix` or equal to one of `exact`.
   */
  | {
      readonly tag: number;
      readonly op: 'nameKeys';
      readonly lookups: readonly { readonly prefix: string; readonly exact: readonly string[] }[];
    };

/** One row of a level query, with its own and its parents' attributes and the computed counts. */
export interface LevelRow {
  readonly id: number;
  readonly attrs: JsonDataset;
  readonly patientAttrs: JsonDataset;
  readonly studyAttrs?: JsonDataset;
  readonly seriesAttrs?: JsonDataset;
  readonly counts: {
    readonly studies?: number;
    readonly series?: number;
    readonly instances?: number;
  };
  readonly studyFk?: number;
}

/** A sort key of a level query: an attribute the index keeps in a column at that level. */
export interface IndexOrder {
  readonly tag: number;
  readonly descending: boolean;
}

export interface LevelQuery {
  readonly level: QueryLevel;
  readonly filters: readonly IndexFilter[];
  /** Return rows with id greater than this (keyset paging, without `order`). */
  readonly afterId: number;
  readonly limit: number;
  /**
   * Sort by these attributes (then by id), paging by `skip` rows instead of by id. An attribute the index
   * cannot sort on at this level is a QueryError.
   */
  readonly order?: readonly IndexOrder[];
  /** Rows to pass over first (with `order`). */
  readonly skip?: number;
}

/** What the index already holds that bears on recording an instance: one read, before and inside the write. */
export interface IngestFacts {
  /** The stored instance with the same SOP Instance UID. */
  readonly instance?: { readonly sha256: string };
  /** The study with the same Study Instance UID, and the Patient ID it is filed under. */
  readonly study?: {
    readonly id: number;
    readonly patientFk: number;
    readonly patientId: string;
    /** An operation on the study's patient is under way. */
    readonly changing?: boolean;
  };
  /** The series with the same Series Instance UID, and its study. */
  readonly series?: { readonly id: number; readonly studyUid: string };
  /** The patient with the same Patient ID and issuer; `changing` when an operation on it is under way. */
  readonly patient?: {
    readonly id: number;
    readonly name: string;
    readonly birthDate: string;
    readonly changing?: boolean;
  };
}

/**
 * An object a transfer into the archive (a DICOM association's C-STOREs, a STOW-RS request) received and
 * acknowledged, recorded with the object in one unit of work and kept until the transfer's audit record is
 * written: after a crash, the start-up recovery records the transfers these rows name (docs/audit.md).
 */
export interface ReceivedInstance {
  /** The transfer's key (one per association or request). */
  readonly transfer: string;
  /** Who sent it: the audit participant, as JSON. */
  readonly party: string;
  readonly studyUid: string;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** The Patient ID the object carries. */
  readonly patientId: string;
  /** What the archive did with it: stored, already held (the same bytes), or held in quarantine. */
  readonly status: 'stored' | 'duplicate' | 'quarantined';
  readonly receivedAt: string;
}

/**
 * An operation on a patient's records (docs/patients.md) as the index keeps it: everything it will change,
 * decided when it was asked for, so that it can be carried out (or resumed after a crash) from this alone.
 */
export interface ChangePlan {
  /** The instances whose files are rewritten, with `fileChanges`. */
  readonly instances: readonly number[];
  readonly fileChanges: readonly AttributeChange[];
  /** Patients whose rows change: their columns and attributes as they will be. */
  readonly patients: readonly {
    readonly id: number;
    readonly name: string;
    readonly birthDate: string;
    readonly sex: string;
    readonly attrs: JsonDataset;
  }[];
  /** Studies whose rows change: the patient they belong to, and their attributes and columns as they will be. */
  readonly studies: readonly {
    readonly id: number;
    readonly patientFk: number;
    readonly attrs?: JsonDataset;
    readonly accessionNumber?: string;
    readonly description?: string;
    readonly referringPhysician?: string;
  }[];
  /** Patients removed once they have no study left (merged away, their last study moved). */
  readonly removeIfEmpty: readonly number[];
  /** Patients marked while it runs: ingest holds back their objects, no other operation starts on them. */
  readonly lock: readonly number[];
}

export interface ChangeRecord {
  readonly id: number;
  /** `edit-patient`, `edit-study`, `merge`, `move-study`. */
  readonly kind: string;
  readonly plan: ChangePlan;
  readonly state: 'preparing' | 'done' | 'failed';
  readonly createdBy: string;
  readonly createdAt: string;
  readonly finishedAt: string;
  readonly error: string;
}

/** An instance of a change: its rewritten file once written ('' before), and its index copy. */
export interface ChangeItem {
  readonly instanceFk: number;
  readonly blobKey: string;
  readonly size: number;
  readonly sha256: string;
  readonly attrs: string;
}

/** A stored file replaced by an operation, kept until `keepUntil`. */
export interface InstanceVersion {
  readonly id: number;
  readonly instanceFk: number;
  readonly sopInstanceUid: string;
  readonly blobKey: string;
  readonly size: number;
  readonly sha256: string;
  readonly changeFk: number;
  readonly replacedAt: string;
  readonly keepUntil: string;
}

export interface IndexReader {
  ingestFacts(keys: {
    sopInstanceUid: string;
    studyUid: string;
    seriesUid: string;
    patientId: string;
    issuer: string;
  }): Promise<IngestFacts>;
  findInstance(sopInstanceUid: string): Promise<InstanceRow | undefined>;
  findStudy(studyUid: string): Promise<StudyRow | undefined>;
  findSeries(seriesUid: string): Promise<{ id: number; studyUid: string } | undefined>;
  findPatient(patientId: string, issuer: string): Promise<PatientRow | undefined>;
  /** A study's attributes as the index keeps them. */
  studyAttributes(studyFk: number): Promise<JsonDataset | undefined>;
  /**
   * A patient's attributes as the index keeps them, and the whole data set of its latest instance (what a
   * patient first stored before a version kept an attribute at the patient level still says).
   */
  patientAttributes(
    patientFk: number,
  ): Promise<{ readonly patient: JsonDataset; readonly latestInstance?: JsonDataset } | undefined>;
  queryLevel(q: LevelQuery): Promise<LevelRow[]>;
  /**
   * Distinct modalities and SOP classes of the given studies (for ModalitiesInStudy, SOPClassesInStudy);
   * `want` leaves out the one a query does not ask for (its list stays empty).
   */
  studySummaries(
    studyIds: readonly number[],
    want?: { readonly modalities: boolean; readonly sopClasses: boolean },
  ): Promise<Map<number, { modalities: string[]; sopClasses: string[] }>>;
  /** Every stored instance in id order, a page at a time. */
  listInstances(afterId: number, limit: number): Promise<InstanceRow[]>;
  /** The instances whose last integrity check found them damaged, in id order, a page at a time. */
  damagedInstances(afterId: number, limit: number): Promise<InstanceRow[]>;
  /**
   * The instances of a study, or of one series or one instance in it, in series then instance number
   * order (one query: retrieval by UIDs, the common case of WADO-RS and C-MOVE).
   */
  instancesByUid(uids: { study?: string; series?: string; instance?: string }): Promise<InstanceRow[]>;
  listQuarantine(afterId: number, limit: number): Promise<(QuarantineRecord & { id: number })[]>;
  /** The transfer state of the given studies (those the index holds or quarantines objects of). */
  studyTransfers(studyUids: readonly string[]): Promise<Map<string, StudyTransferRow>>;
  counts(): Promise<{
    patients: number;
    studies: number;
    series: number;
    instances: number;
    quarantined: number;
  }>;
  /** Bytes of the stored objects and of the quarantined ones. */
  sizes(): Promise<{ stored: number; quarantined: number }>;
  /** The ingest sessions of a node (docs/architecture.md, "Crash safety"), oldest first. */
  ingestSessions(nodeId: string): Promise<IngestSession[]>;
  /**
   * How many received objects wait for their transfer's record in these sessions or in sessions that no
   * longer exist (their process ended them, or they were ended for it, before the record was written).
   */
  countReceived(sessionIds: readonly number[]): Promise<number>;
  /** An operation on patients' records. */
  getChange(id: number): Promise<ChangeRecord | undefined>;
  /** Operations not yet carried out to the end (a crash stopped them), oldest first. */
  unfinishedChanges(): Promise<ChangeRecord[]>;
  /** The instances of an operation, with their rewritten files where written. */
  changeItems(changeId: number): Promise<ChangeItem[]>;
  /** Every instance of these patients, in id order. */
  instancesOfPatients(patientFks: readonly number[]): Promise<InstanceRow[]>;
  /** Instances by row id, each with its index copy of the data set (DICOM JSON text). */
  instancesById(ids: readonly number[]): Promise<(InstanceRow & { readonly attrs: string })[]>;
  /** The stored files an operation replaced, by instance, newest first. */
  versionsOf(instanceFk: number): Promise<InstanceVersion[]>;
  /** Replaced files whose retention has ended (`keepUntil` before `at`), oldest first. */
  versionsDue(at: string, limit: number): Promise<InstanceVersion[]>;
  /** The received objects of a session that wait for their transfer's record, in the order received. */
  receivedOf(sessionId: number): Promise<(ReceivedInstance & { readonly id: number })[]>;
}

/**
 * One process's ingest since it started: the rows it may have recorded without their files being durable
 * yet are those after the confirmed ids. After a power loss, the start-up recovery checks them.
 */
export interface IngestSession {
  readonly id: number;
  readonly nodeId: string;
  /** The operating system's process id, to tell a session whose process is gone. */
  readonly pid: number;
  /**
   * Made at random by each process: a session with this process's pid and another token is an earlier
   * process's (a restarted container has the same pid every time).
   */
  readonly processToken: string;
  /** Every instance and quarantine row up to these ids that this session recorded is durable with its file. */
  readonly confirmedInstanceId: number;
  readonly confirmedQuarantineId: number;
  readonly updatedAt: string;
}

export interface IndexTx extends IndexReader {
  /**
   * Records an instance, creating its patient, study and series when `facts` (read in this same unit of
   * work) says they do not exist yet.
   */
  /** Returns the new instance row's id. */
  insertInstance(rec: InstanceRecord, facts: IngestFacts): Promise<number>;
  /** Returns the new quarantine row's id. */
  addQuarantine(rec: QuarantineRecord): Promise<number>;
  /**
   * Removes an instance row, with the counts of its series, study and patient, and those rows when it was
   * their last instance. The stored file is the caller's. False when there was no such row.
   */
  removeInstance(id: number): Promise<boolean>;
  /** Removes a quarantine row; false when there was none. */
  removeQuarantine(id: number): Promise<boolean>;
  /** Records integrity checks: when each instance (by row id) was checked and what was found. */
  recordVerification(
    results: readonly { readonly id: number; readonly integrity: Integrity }[],
    at: string,
  ): Promise<void>;
  /**
   * Starts an ingest session: its confirmed ids are the highest instance and quarantine ids now (what
   * exists was recorded before it). Returns it.
   */
  openIngestSession(nodeId: string, pid: number, processToken: string, at: string): Promise<IngestSession>;
  /** Records that the session's rows up to these ids are durable; the session is recreated if it was removed. */
  confirmIngestSession(
    session: IngestSession,
    instanceId: number,
    quarantineId: number,
    at: string,
  ): Promise<void>;
  /** Ends a session (all of its rows durable, or checked by recovery). */
  closeIngestSession(id: number): Promise<void>;
  /**
   * Records an operation on patients' records, marks the patients of `plan.lock` (LNT_CONFLICT when one is
   * already under another operation), and returns its id.
   */
  createChange(kind: string, plan: ChangePlan, createdBy: string, at: string): Promise<number>;
  /** Records an instance's rewritten file (written, synced) and its new index copy. */
  prepareChangeItem(changeId: number, item: ChangeItem): Promise<void>;
  /**
   * Carries an operation out in this unit of work: each instance's row takes its rewritten file (the stored
   * one kept as a version until `keepUntil`) and attributes, patients and studies their new values, counts
   * are made right, emptied patients removed, the marks cleared. False when it was not preparing.
   */
  applyChange(changeId: number, at: string, keepUntil: string): Promise<boolean>;
  /** Ends an operation that cannot be carried out: nothing of it applied, the marks cleared. */
  failChange(changeId: number, error: string, at: string): Promise<void>;
  /** Forgets replaced files (their blobs are removed by the caller). */
  removeVersions(ids: readonly number[]): Promise<void>;
  /**
   * Records an object a transfer received, for the session that received it (see ReceivedInstance). Returns
   * the row's id.
   */
  addReceived(sessionId: number, row: ReceivedInstance): Promise<number>;
  /** Forgets received objects (by row id) of a session whose transfer's record is written. */
  removeReceived(sessionId: number, ids: readonly number[]): Promise<void>;
  /**
   * Moves to `toSession` the received objects of the sessions `fromSessions` and of sessions that no longer
   * exist (a recovery claims them, so that two recoveries never record the same transfer: those sessions
   * are read first, and only rows still under one of them move). Returns how many.
   */
  adoptReceived(fromSessions: readonly number[], toSession: number): Promise<number>;
  /**
   * Records how the last transfer into these studies ended: `problem` says why it did not complete, ''
   * that it did (clearing an earlier problem).
   */
  setTransferProblem(studyUids: readonly string[], problem: string, at: string): Promise<void>;
}

/**
 * The archive's index of patients, studies, series and instances (and its quarantine): what ingest,
 * query, retrieval, verification and storage commitment read and write.
 */
export interface ArchiveIndex extends IndexReader {
  /**
   * One unit of work: every change inside `fn` commits together or not at all, and the promise resolves
   * once the commit is durable.
   */
  write<T>(fn: (tx: IndexTx) => Promise<T>): Promise<T>;
  /** Where the index lives, for diagnostics. */
  readonly dialect: 'sqlite' | 'postgres';
}
