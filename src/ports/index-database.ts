import type { AccountStore } from './accounts.js';
import type { AeStore } from './ae-store.js';
import type { ArchiveIndex } from './archive-index.js';
import type { AuditStore } from './audit.js';
import type { JobQueue } from './job-queue.js';

/**
 * The index database as the composition root opens it: one database (SQLite or PostgreSQL) holding the
 * stores each consumer gets alone. Services never see this whole: each takes the port it uses.
 */
export interface IndexDatabase {
  readonly archive: ArchiveIndex;
  readonly aes: AeStore;
  /** Accounts, sessions, API tokens and login throttling. */
  readonly accounts: AccountStore;
  /** The audit trail (append-only). */
  readonly audit: AuditStore;
  /** The durable job queue, shared by every node using the database. */
  readonly jobs: JobQueue;
  /** Brings the schema to the current version (versioned migrations). */
  migrate(): Promise<void>;
  close(): Promise<void>;
  readonly dialect: 'sqlite' | 'postgres';
}
