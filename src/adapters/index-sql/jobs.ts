import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import { LanternError } from '../../core/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Job, JobQueue, JobSpec, JobState, JsonValue } from '../../ports/job-queue.js';
import type { Database, JobTable } from './schema.js';

const DEFAULT_MAX_ATTEMPTS = 5;
/** Longer errors are cut: the queue keeps what went wrong, not whole stack traces. */
const MAX_ERROR_LENGTH = 2000;
const LEASE_RAN_OUT = 'the lease ran out on the last attempt (its worker stopped or stalled)';

const iso = (d: Date): string => d.toISOString();
const date = (s: string | null): Date | undefined => (s === null ? undefined : new Date(s));

function toJob(r: Selectable<JobTable>): Job {
  return {
    id: Number(r.id),
    kind: r.kind,
    payload: JSON.parse(r.payload) as JsonValue,
    state: r.state,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    runAt: new Date(r.run_at),
    dedupeKey: r.dedupe_key ?? undefined,
    worker: r.worker ?? undefined,
    leaseUntil: date(r.lease_until),
    lastError: r.last_error ?? undefined,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    finishedAt: date(r.finished_at),
  };
}

const byDue = (a: Job, b: Job): number => a.runAt.getTime() - b.runAt.getTime() || a.id - b.id;

function positiveInteger(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a whole number above 0: ${n}`);
}

function validDate(name: string, d: Date): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new RangeError(`${name} is not a valid date`);
}

/**
 * The job queue in the index database, one row per job. A claim is atomic on both dialects: on PostgreSQL
 * the due rows are locked with `for update skip locked` (claimers running at the same time take different
 * rows, none waits) and updated in the same transaction; on SQLite, which has one writer, one
 * `update ... where id in (select ... limit n) returning *` statement is atomic by itself. Every other
 * change is one conditional statement: a worker's complete, fail and extend apply only while the job is
 * running under its name.
 */
export class KyselyJobQueue implements JobQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly clock: Clock,
    /** Makes committed changes durable (SQLite's log sync); enqueue, complete and fail wait for it. */
    private readonly durable: () => Promise<void> = async () => undefined,
  ) {}

  async enqueue(spec: JobSpec): Promise<number> {
    if (typeof spec.kind !== 'string' || spec.kind === '') throw new RangeError('a job needs a kind');
    const maxAttempts = spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    positiveInteger('maxAttempts', maxAttempts);
    if (spec.runAt !== undefined) validDate('runAt', spec.runAt);
    const payload = JSON.stringify(spec.payload);
    if (payload === undefined) throw new RangeError('a job payload must be JSON');
    const now = iso(this.clock.now());
    const row = {
      kind: spec.kind,
      payload,
      state: 'queued' as const,
      attempts: 0,
      max_attempts: maxAttempts,
      run_at: spec.runAt ? iso(spec.runAt) : now,
      dedupe_key: spec.dedupeKey ?? null,
      created_at: now,
      updated_at: now,
    };
    // With a dedupe key the insert does nothing while a pending job holds the key (the partial unique index);
    // that job may finish before it is read back, and then the key is free for this one: try again.
    for (let attempt = 0; attempt < 10; attempt++) {
      const inserted = await this.db
        .insertInto('job')
        .values(row)
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      const id =
        inserted?.id ??
        (
          await this.db
            .selectFrom('job')
            .select('id')
            .where('kind', '=', spec.kind)
            .where('dedupe_key', '=', row.dedupe_key)
            .where('state', 'in', ['queued', 'running'])
            .executeTakeFirst()
        )?.id;
      if (id !== undefined) {
        await this.durable();
        return Number(id);
      }
    }
    throw new LanternError(
      'LNT_INDEX_FAILED',
      `a job with dedupe key ${row.dedupe_key} was neither added nor found`,
    );
  }

  async claim(options: {
    readonly kinds: readonly string[];
    readonly worker: string;
    readonly leaseMs: number;
    readonly limit: number;
  }): Promise<Job[]> {
    const { kinds, worker, leaseMs, limit } = options;
    if (!kinds.length) throw new RangeError('claim needs at least one kind');
    if (!worker) throw new RangeError('claim needs a worker name');
    positiveInteger('leaseMs', leaseMs);
    positiveInteger('limit', limit);
    const at = this.clock.now();
    const now = iso(at);
    const leaseUntil = iso(new Date(at.getTime() + leaseMs));

    // A job whose worker vanished on its last attempt is not run again (it may be what stops its workers).
    await this.db
      .updateTable('job')
      .set({
        state: 'failed',
        lease_until: null,
        last_error: LEASE_RAN_OUT,
        finished_at: now,
        updated_at: now,
      })
      .where('kind', 'in', kinds)
      .where('state', '=', 'running')
      .where('lease_until', '<=', now)
      .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
      .execute();

    const due = (eb: ExpressionBuilder<Database, 'job'>) =>
      eb.and([
        eb('kind', 'in', kinds),
        eb.or([
          eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
          eb.and([
            eb('state', '=', 'running'),
            eb('lease_until', '<=', now),
            eb('attempts', '<', eb.ref('max_attempts')),
          ]),
        ]),
      ]);
    const lease = (eb: ExpressionBuilder<Database, 'job'>) => ({
      state: 'running' as const,
      worker,
      lease_until: leaseUntil,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    });

    if (this.dialect === 'postgres') {
      const rows = await this.db.transaction().execute(async (tx) => {
        const ids = await tx
          .selectFrom('job')
          .select('id')
          .where(due)
          .orderBy('run_at')
          .orderBy('id')
          .limit(limit)
          .forUpdate()
          .skipLocked()
          .execute();
        if (!ids.length) return [];
        return tx
          .updateTable('job')
          .set(lease)
          .where(
            'id',
            'in',
            ids.map((r) => r.id),
          )
          .returningAll()
          .execute();
      });
      return rows.map(toJob).sort(byDue);
    }
    const rows = await this.db
      .updateTable('job')
      .set(lease)
      .where('id', 'in', (eb) =>
        eb.selectFrom('job').select('id').where(due).orderBy('run_at').orderBy('id').limit(limit),
      )
      .returningAll()
      .execute();
    return rows.map(toJob).sort(byDue);
  }

  async complete(id: number, worker: string): Promise<boolean> {
    const now = iso(this.clock.now());
    const r = await this.db
      .updateTable('job')
      .set({ state: 'done', lease_until: null, finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('worker', '=', worker)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await this.durable();
    return true;
  }

  async fail(
    id: number,
    worker: string,
    error: string,
    options: { readonly retryAt?: Date } = {},
  ): Promise<'queued' | 'failed' | undefined> {
    const at = this.clock.now();
    if (options.retryAt !== undefined) validDate('retryAt', options.retryAt);
    const now = iso(at);
    const retryAt = iso(options.retryAt ?? at);
    const exhausted = sql<boolean>`attempts >= max_attempts`;
    const r = await this.db
      .updateTable('job')
      .set({
        state: sql<JobState>`case when ${exhausted} then 'failed' else 'queued' end`,
        run_at: sql<string>`case when ${exhausted} then run_at else ${retryAt} end`,
        finished_at: sql<string | null>`case when ${exhausted} then ${now} else null end`,
        lease_until: null,
        last_error: error.slice(0, MAX_ERROR_LENGTH),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('worker', '=', worker)
      .returning('state')
      .executeTakeFirst();
    if (!r) return undefined;
    await this.durable();
    return r.state === 'failed' ? 'failed' : 'queued';
  }

  async reschedule(id: number, worker: string, payload: JsonValue, runAt: Date): Promise<boolean> {
    validDate('runAt', runAt);
    const text = JSON.stringify(payload);
    if (text === undefined) throw new RangeError('a job payload must be JSON');
    const now = iso(this.clock.now());
    const r = await this.db
      .updateTable('job')
      .set({
        state: 'queued',
        payload: text,
        run_at: iso(runAt),
        attempts: 0,
        lease_until: null,
        last_error: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('worker', '=', worker)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await this.durable();
    return true;
  }

  async extend(id: number, worker: string, leaseMs: number): Promise<boolean> {
    positiveInteger('leaseMs', leaseMs);
    const at = this.clock.now();
    const r = await this.db
      .updateTable('job')
      .set({ lease_until: iso(new Date(at.getTime() + leaseMs)), updated_at: iso(at) })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('worker', '=', worker)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async get(id: number): Promise<Job | undefined> {
    const r = await this.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toJob(r) : undefined;
  }

  async list(filter: {
    readonly state?: JobState;
    readonly kind?: string;
    readonly limit: number;
    readonly after?: number;
  }): Promise<Job[]> {
    positiveInteger('limit', filter.limit);
    let q = this.db
      .selectFrom('job')
      .selectAll()
      .where('id', '>', filter.after ?? 0);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    return (await q.orderBy('id').limit(filter.limit).execute()).map(toJob);
  }
}
