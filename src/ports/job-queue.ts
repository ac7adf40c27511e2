/**
 * A durable job queue: work that must survive a restart and be shared among the nodes of a site (routing,
 * forwarding, verification, migration, AI requests). Delivery is at least once: a job whose worker stops
 * heartbeating is taken over when its lease runs out, so a handler must tolerate running twice.
 *
 * Why not pg-boss or graphile-worker: both are mature MIT queues on PostgreSQL's `FOR UPDATE SKIP LOCKED`,
 * but both are PostgreSQL-only (the embedded default is SQLite), their current releases need Node.js 22 (we
 * support 20), and each installs a schema and migrations of its own beside ours. One table in the index
 * database, claimed with `SKIP LOCKED` on PostgreSQL and with one atomic statement on SQLite (a single
 * writer), serves both dialects through the same contract suite, takes its time from our Clock, and sits in
 * the same database as the rows its jobs are about.
 *
 * Times come from the clock the adapter was built with: the nodes sharing a queue must keep their clocks in
 * step (NTP), and leases must be long compared with any difference between them.
 */

/** A value that survives JSON.stringify and JSON.parse unchanged. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * `queued`: waiting for its run time; `running`: leased to a worker; `done`: completed; `failed`: dead
 * letter, out of attempts (kept with its last error, never claimed again).
 */
export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobSpec {
  /** What to do (e.g. 'route', 'forward'): workers claim by kind. */
  readonly kind: string;
  readonly payload: JsonValue;
  /** Not claimed before this time; now when absent. */
  readonly runAt?: Date;
  /** Claims allowed before the job is dead-lettered (at least 1); 5 when absent. */
  readonly maxAttempts?: number;
  /**
   * At most one queued or running job of the kind holds this key: enqueuing it again returns that job's id.
   * Once the job is done or failed the key is free again.
   */
  readonly dedupeKey?: string;
}

export interface Job {
  readonly id: number;
  readonly kind: string;
  readonly payload: JsonValue;
  readonly state: JobState;
  /** Claims so far, the current one included. */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** When the job is (or was last) due. */
  readonly runAt: Date;
  readonly dedupeKey: string | undefined;
  /** The worker holding (or that last held) the job. */
  readonly worker: string | undefined;
  /** When the current lease runs out (running jobs only). */
  readonly leaseUntil: Date | undefined;
  /** The error of the last failed attempt. */
  readonly lastError: string | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When the job became done or failed. */
  readonly finishedAt: Date | undefined;
}

export interface JobQueue {
  /** Adds a job (or finds the pending one with the same dedupe key) and returns its id, once durable. */
  enqueue(spec: JobSpec): Promise<number>;
  /**
   * Leases up to `limit` due jobs of the given kinds to `worker` for `leaseMs`, oldest due first: queued
   * jobs whose run time has come and running jobs whose lease has run out. A job is never leased to two
   * workers at once. A job whose lease ran out on its last attempt is dead-lettered instead.
   * `worker` names one worker of one process (e.g. host, pid and a random part): never reuse it.
   */
  claim(options: {
    readonly kinds: readonly string[];
    readonly worker: string;
    readonly leaseMs: number;
    readonly limit: number;
  }): Promise<Job[]>;
  /**
   * Marks a job done. False (and nothing changed) unless the job is running under `worker`, i.e. when its
   * lease ran out and another worker has claimed it since.
   */
  complete(id: number, worker: string): Promise<boolean>;
  /**
   * Records a failed attempt: the job is queued again for `retryAt` (now when absent; core/jobs/backoff.ts computes it)
   * or, out of attempts, dead-lettered. Returns the job's new state, or undefined (and nothing changed)
   * unless the job is running under `worker`.
   */
  fail(
    id: number,
    worker: string,
    error: string,
    options?: { readonly retryAt?: Date },
  ): Promise<'queued' | 'failed' | undefined>;
  /**
   * A recurring or stepwise job done for now: queued again for `runAt` with a new payload (where it got to),
   * its attempts back to 0 and its dedupe key kept (so no second copy can be queued meanwhile). False (and
   * nothing changed) unless the job is running under `worker`.
   */
  reschedule(id: number, worker: string, payload: JsonValue, runAt: Date): Promise<boolean>;
  /** Heartbeat: the lease now runs out `leaseMs` from now. False unless the job is running under `worker`. */
  extend(id: number, worker: string, leaseMs: number): Promise<boolean>;
  get(id: number): Promise<Job | undefined>;
  /** Jobs in id order, after `after` (keyset paging), optionally of one state and kind. */
  list(filter: {
    readonly state?: JobState;
    readonly kind?: string;
    readonly limit: number;
    readonly after?: number;
  }): Promise<Job[]>;
}
