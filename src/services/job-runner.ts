import { randomUUID } from 'node:crypto';
import { backoffDelay } from '../core/jobs/backoff.js';
import type { Clock } from '../ports/clock.js';
import type { Job, JobQueue, JsonValue } from '../ports/job-queue.js';

/** What a job's handler gets besides the job: a heartbeat that keeps its lease, and whether to stop. */
export interface JobContext {
  /** Extends the lease (call it at least every lease / 2 while working). */
  heartbeat(): Promise<void>;
  /** Set when the runner stops: a long handler returns early and leaves the rest to a later job. */
  readonly stopping: () => boolean;
}

/** A job done for now, to run again (a recurring or stepwise job): when, and with what payload. */
export interface JobAgain {
  readonly again: { readonly payload: JsonValue; readonly runAt: Date };
}

/** Runs one job: resolves when it is done (or done for now, `JobAgain`); a rejection is a failed attempt. */
export type JobHandler = (job: Job, ctx: JobContext) => Promise<void | JobAgain>;

export interface JobRunnerOptions {
  /** How often an idle runner looks for due jobs (default 5 s). */
  readonly pollMs?: number;
  /** How long a claim holds a job without a heartbeat (default 60 s). */
  readonly leaseMs?: number;
  /** A handler failed (the job is retried after a backoff, or dead-lettered). For the operational log. */
  readonly onError?: (job: Job, e: Error) => void;
}

/**
 * Runs the durable jobs of the kinds it has handlers for, in this process: claims due ones (a job is never
 * run by two workers at once; one whose worker died is taken over when its lease ends), runs them one at a
 * time, completes them, or fails them with a backoff (core/jobs/backoff.ts). Several processes sharing an
 * index each run one; they share the work.
 */
export class JobRunner {
  private readonly worker = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly handlers: Readonly<Record<string, JobHandler>>,
    private readonly options: JobRunnerOptions = {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const ran = await this.runDue().catch(() => 0);
        if (ran || !this.running) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, this.options.pollMs ?? 5000);
          function done() {
            clearTimeout(t);
            resolve();
          }
          this.wake = done;
        });
      }
    })();
  }

  /** Stops claiming; a handler under way is told to stop and awaited. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Claims the jobs due now and runs them, one after another; returns how many ran. */
  async runDue(): Promise<number> {
    const kinds = Object.keys(this.handlers);
    const leaseMs = this.options.leaseMs ?? 60_000;
    const jobs = await this.queue.claim({ kinds, worker: this.worker, leaseMs, limit: 1 });
    for (const job of jobs) {
      const ctx: JobContext = {
        heartbeat: async () => {
          await this.queue.extend(job.id, this.worker, leaseMs);
        },
        stopping: () => !this.running && this.loop !== undefined,
      };
      try {
        const outcome = await this.handlers[job.kind](job, ctx);
        if (outcome)
          await this.queue.reschedule(job.id, this.worker, outcome.again.payload, outcome.again.runAt);
        else await this.queue.complete(job.id, this.worker);
      } catch (e) {
        this.options.onError?.(job, e as Error);
        const retryAt = new Date(this.clock.now().getTime() + backoffDelay(job.attempts, Math.random()));
        await this.queue.fail(job.id, this.worker, (e as Error).message, { retryAt });
      }
    }
    return jobs.length;
  }
}
