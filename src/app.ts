import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { BackgroundTask } from './ports/background.js';
import type { BlobStore } from './ports/blob-store.js';
import type { Clock } from './ports/clock.js';
import type { ArchiveIndex } from './ports/archive-index.js';
import type { AeRegistry } from './services/ae-registry.js';
import type { AuditService } from './services/audit.js';
import type { SecurityAlerts } from './services/security-alerts.js';
import type { AuthService } from './services/auth.js';
import type { CommitmentService } from './services/commitment.js';
import type { SendService } from './services/send.js';
import type { StatusService } from './services/status.js';
import type { FaultMonitor } from './services/faults.js';
import type { ImagingService } from './services/imaging.js';
import type { IngestService } from './services/ingest.js';
import type { QueryService } from './services/query.js';
import type { RetrieveService } from './services/retrieve.js';
import type { TranscodeService } from './services/transcode.js';
import type { VerifyService } from './services/verify.js';
import type { PatientIdentification } from './services/patient-identification.js';
import type { PatientChanges } from './services/patient-changes.js';

/**
 * Everything one process needs, as the servers and the command line see it: the configuration, the
 * services, and the ports they run on, never an adapter. main.ts builds it (the composition root).
 */
export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly index: ArchiveIndex;
  readonly blobs: BlobStore;
  readonly ingest: IngestService;
  readonly query: QueryService;
  readonly verify: VerifyService;
  /** The two-identifier rule for operations on a patient's records. */
  readonly identification: PatientIdentification;
  /** Operations on patients' records: edit, merge, move a study. */
  readonly changes: PatientChanges;
  readonly aes: AeRegistry;
  readonly retrieve: RetrieveService;
  readonly commitment: CommitmentService;
  readonly send: SendService;
  readonly status: StatusService;
  /** Optional viewers installed in the data folder (`lantern viewer install`): the folder of each. */
  readonly viewers: { readonly ohif?: string };
  readonly imaging: ImagingService;
  readonly transcode: TranscodeService;
  readonly auth: AuthService;
  readonly audit: AuditService;
  /** Security failures (refused requests, re-authentication, associations, commitment) as rate-limited alerts. */
  readonly alerts: SecurityAlerts;
  /** Sends the trail to an audit record repository, when one is configured (started with the servers). */
  readonly auditExport: BackgroundTask | undefined;
  readonly clock: Clock;
  /**
   * The durable background jobs this process runs (the integrity verification pass), started with the
   * servers: `schedule` queues the recurring ones, once across processes.
   */
  readonly jobs: BackgroundTask & { schedule(): Promise<void> };
  /** Unexpected errors, counted and logged (connection code, unhandled rejections). */
  readonly faults: FaultMonitor;
  close(): Promise<void>;
}
