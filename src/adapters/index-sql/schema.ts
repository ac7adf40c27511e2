import type { Generated } from 'kysely';

/** Table shapes as kysely sees them. JSON columns hold DICOM JSON (PS3.18 F) as text. */
export interface PatientTable {
  id: Generated<number>;
  patient_id: string;
  issuer: string;
  name: string;
  name_upper: string;
  birth_date: string;
  sex: string;
  attrs: string;
  num_studies: number;
  num_series: number;
  num_instances: number;
  created_at: string;
  updated_at: string;
  /** The operation under way on the patient's records (0: none). */
  changing: Generated<number | string>;
}

export interface StudyTable {
  id: Generated<number>;
  patient_fk: number;
  study_uid: string;
  study_date: string;
  study_time: string;
  accession_number: string;
  study_id: string;
  description: string;
  referring_physician: string;
  attrs: string;
  num_series: number;
  num_instances: number;
  transfer_problem: Generated<string>;
  transfer_problem_at: Generated<string>;
  created_at: string;
  updated_at: string;
}

export interface SeriesTable {
  id: Generated<number>;
  study_fk: number;
  series_uid: string;
  modality: string;
  series_number: number | null;
  description: string;
  attrs: string;
  num_instances: number;
  created_at: string;
  updated_at: string;
}

export interface InstanceTable {
  id: Generated<number>;
  series_fk: number;
  sop_instance_uid: string;
  sop_class_uid: string;
  instance_number: number | null;
  transfer_syntax_uid: string;
  blob_key: string;
  size: number | string;
  sha256: string;
  attrs: string;
  received_at: string;
  source_aet: string;
  verified_at: Generated<string>;
  integrity: Generated<string>;
}

export interface QuarantineTable {
  id: Generated<number>;
  blob_key: string;
  reason_code: string;
  reason: string;
  sop_instance_uid: string;
  study_uid: string;
  patient_id: string;
  size: number | string;
  sha256: string;
  received_at: string;
  source_aet: string;
}

export interface IngestSessionTable {
  id: Generated<number>;
  node_id: string;
  pid: number;
  confirmed_instance_id: number | string;
  confirmed_quarantine_id: number | string;
  updated_at: string;
  process_token: Generated<string>;
}

export interface ReceivedInstanceTable {
  id: Generated<number>;
  session_id: number;
  transfer: string;
  party: string;
  study_uid: string;
  sop_class_uid: string;
  sop_instance_uid: string;
  patient_id: string;
  status: string;
  received_at: string;
}

export interface ChangeTable {
  id: Generated<number>;
  kind: string;
  plan: string;
  state: string;
  created_by: string;
  created_at: string;
  finished_at: Generated<string>;
  error: Generated<string>;
}

export interface ChangeItemTable {
  change_fk: number;
  instance_fk: number;
  blob_key: Generated<string>;
  size: Generated<number | string>;
  sha256: Generated<string>;
  attrs: Generated<string>;
}

export interface InstanceVersionTable {
  id: Generated<number>;
  instance_fk: number;
  sop_instance_uid: string;
  blob_key: string;
  size: number | string;
  sha256: string;
  change_fk: number;
  replaced_at: string;
  keep_until: string;
}

export interface AeTable {
  ae_title: string;
  host: string;
  port: number;
  tls: number;
  permissions: string;
  /** 'device' or 'people' (user identity required). */
  mode: string;
  /** SHA-256 hex of the bound TLS client certificate; '' for none. */
  cert_sha256: string;
  updated_at: string;
}

export interface AccountTable {
  id: Generated<number>;
  login: string;
  display_name: string;
  roles: string;
  enabled: number;
  password_hash: string;
  must_change: number;
  /** Bumped whenever roles or the enabled flag change: sessions of an older generation end. */
  generation: number;
  created_at: string;
  updated_at: string;
  /** 'person' or 'service' (no password, no login; acts through API tokens only). */
  kind: Generated<string>;
}

export interface SessionTable {
  id_hash: string;
  account_fk: number;
  generation: number;
  csrf: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  address: string;
  user_agent: string;
}

export interface ApiTokenTable {
  id: Generated<number>;
  token_hash: string;
  account_fk: number;
  name: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  /** Who made it (a login, or 'lantern' for the command line); '' for tokens from before this was kept. */
  created_by: Generated<string>;
}

export interface AccountMfaTable {
  account_fk: number;
  /** Base32 TOTP secret. */
  secret: string;
  /** Set once a first code confirmed the secret; null while enrolment is pending. */
  enabled_at: string | null;
  /** The last TOTP time step accepted (a code is good once). */
  last_step: Generated<number | string>;
  /** SHA-256 hex of the unused recovery codes, comma-separated. */
  recovery: Generated<string>;
}

export interface LoginThrottleTable {
  key: string;
  failures: number;
  in_progress: number;
  window_start: string;
  locked_until: string | null;
}

export interface AuditRecordTable {
  id: number;
  at: string;
  event_id: string;
  action: string;
  outcome: number;
  user_id: string;
  patient_ids: string;
  study_uids: string;
  event: string;
  prev_hash: string;
  hash: string;
}

/** The fuzzy matching keys of a patient's name (core/query/person-name.ts nameKeys), one row each. */
export interface PatientNameKeyTable {
  patient_fk: number;
  key: string;
}

export interface AuditHeadTable {
  id: number;
  last_id: number;
  last_hash: string;
}

/** The job queue (ports/job-queue.ts). Times are ISO 8601 UTC text, which sorts as it compares. */
export interface JobTable {
  id: Generated<number>;
  kind: string;
  /** JSON text. */
  payload: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  max_attempts: number;
  run_at: string;
  dedupe_key: string | null;
  worker: string | null;
  lease_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface Database {
  job: JobTable;
  audit_record: AuditRecordTable;
  audit_head: AuditHeadTable;
  account: AccountTable;
  session: SessionTable;
  api_token: ApiTokenTable;
  account_mfa: AccountMfaTable;
  login_throttle: LoginThrottleTable;
  ae: AeTable;
  patient: PatientTable;
  patient_name_key: PatientNameKeyTable;
  study: StudyTable;
  series: SeriesTable;
  instance: InstanceTable;
  quarantine: QuarantineTable;
  ingest_session: IngestSessionTable;
  received_instance: ReceivedInstanceTable;
  change: ChangeTable;
  change_item: ChangeItemTable;
  instance_version: InstanceVersionTable;
}
