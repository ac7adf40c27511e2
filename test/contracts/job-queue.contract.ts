import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/core/jobs/backoff.js';
import type { Clock } from '../../src/ports/clock.js';
import type { IndexDatabase } from '../../src/ports/index-database.js';
import type { JobQueue } from '../../src/ports/job-queue.js';
import { manualClock } from '../helpers/clock.js';

export interface JobQueueBackend {
  /** A new connection to the suite's one database, migrated: called twice, it stands for two nodes. */
  open(clock: Clock): Promise<IndexDatabase>;
  cleanup(): Promise<void>;
}

const MINUTE = 60_000;

/**
 * One suite, every index adapter: the job queue behaves the same on SQLite and PostgreSQL. Two connections
 * to the same database stand for two nodes; one manual clock drives both, so leases run out and retries come
 * due when the test moves time, never by waiting.
 */
export function jobQueueContract(name: string, backend: JobQueueBackend): void {
  describe(`job queue contract: ${name}`, () => {
    const clock = manualClock();
    let nodeA: IndexDatabase;
    let nodeB: IndexDatabase;
    let a: JobQueue;
    let b: JobQueue;
    /** A kind of its own for each test, so that tests sharing the database never see each other's jobs. */
    const newKind = () => `test-${randomUUID()}`;

    beforeAll(async () => {
      nodeA = await backend.open(clock);
      nodeB = await backend.open(clock);
      a = nodeA.jobs;
      b = nodeB.jobs;
    });

    afterAll(async () => {
      await nodeA?.close();
      await nodeB?.close();
      await backend.cleanup();
    });

    it('enqueues, leases to one worker, and completes', async () => {
      const kind = newKind();
      const payload = {
        studyUid: '1.2.840.99.1',
        destination: 'ARCHIVE2',
        tries: [1, 2.5],
        ok: true,
        none: null,
      };
      const enqueuedAt = clock.now();
      const id = await a.enqueue({ kind, payload });
      const queued = await b.get(id);
      expect(queued).toMatchObject({ id, kind, payload, state: 'queued', attempts: 0, maxAttempts: 5 });
      expect(queued?.runAt).toEqual(enqueuedAt);
      expect(queued?.worker).toBeUndefined();
      expect(queued?.lastError).toBeUndefined();

      expect(await a.claim({ kinds: [newKind()], worker: 'w1', leaseMs: MINUTE, limit: 10 })).toEqual([]);
      const [job, ...rest] = await a.claim({ kinds: [kind], worker: 'w1', leaseMs: MINUTE, limit: 10 });
      expect(rest).toEqual([]);
      expect(job).toMatchObject({ id, kind, payload, state: 'running', attempts: 1, worker: 'w1' });
      expect(job.leaseUntil).toEqual(new Date(clock.now().getTime() + MINUTE));
      // Leased: no one else gets it while the lease lasts.
      expect(await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 10 })).toEqual([]);

      clock.advanceMs(1000);
      expect(await a.complete(id, 'w2')).toBe(false);
      expect(await a.complete(id, 'w1')).toBe(true);
      expect(await a.complete(id, 'w1')).toBe(false);
      const done = await b.get(id);
      expect(done).toMatchObject({ state: 'done', attempts: 1, worker: 'w1', leaseUntil: undefined });
      expect(done?.finishedAt).toEqual(clock.now());
      clock.advanceMs(10 * MINUTE);
      expect(await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 10 })).toEqual([]);
    });

    it('keeps what was enqueued across a restart', async () => {
      const kind = newKind();
      const id = await a.enqueue({ kind, payload: { n: 1 } });
      const restarted = await backend.open(clock);
      try {
        expect(await restarted.jobs.get(id)).toMatchObject({ kind, state: 'queued', payload: { n: 1 } });
      } finally {
        await restarted.close();
      }
    });

    it('never leases one job to two workers claiming at the same time', async () => {
      const kind = newKind();
      const ids = new Set<number>();
      for (let i = 0; i < 50; i++) ids.add(await a.enqueue({ kind, payload: { i } }));
      expect(ids.size).toBe(50);

      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).claim({ kinds: [kind], worker: `w${i}`, leaseMs: MINUTE, limit: 5 }),
        ),
      );
      const claimed = claims.flat().map((j) => j.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      for (const [i, jobs] of claims.entries()) for (const j of jobs) expect(j.worker).toBe(`w${i}`);
      // What a claim skipped (locked by another) is still there for the next: every job exactly once.
      for (;;) {
        const more = await a.claim({ kinds: [kind], worker: 'drain', leaseMs: MINUTE, limit: 7 });
        if (!more.length) break;
        claimed.push(...more.map((j) => j.id));
      }
      expect(claimed.sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
      const running = await a.list({ kind, state: 'running', limit: 100 });
      expect(running.map((j) => j.attempts)).toEqual(Array(50).fill(1));
    });

    it('hands a job whose lease ran out to another worker, and refuses the first one after that', async () => {
      const kind = newKind();
      const id = await a.enqueue({ kind, payload: {} });
      await a.claim({ kinds: [kind], worker: 'crashed', leaseMs: MINUTE, limit: 1 });
      clock.advanceMs(MINUTE - 1);
      expect(await b.claim({ kinds: [kind], worker: 'taker', leaseMs: MINUTE, limit: 1 })).toEqual([]);
      clock.advanceMs(1);
      const [taken] = await b.claim({ kinds: [kind], worker: 'taker', leaseMs: MINUTE, limit: 1 });
      expect(taken).toMatchObject({ id, worker: 'taker', attempts: 2, state: 'running' });

      expect(await a.complete(id, 'crashed')).toBe(false);
      expect(await a.fail(id, 'crashed', 'late')).toBeUndefined();
      expect(await a.extend(id, 'crashed', MINUTE)).toBe(false);
      expect(await b.get(id)).toMatchObject({ state: 'running', worker: 'taker', lastError: undefined });
      expect(await b.complete(id, 'taker')).toBe(true);
    });

    it('keeps a job with its worker while it heartbeats', async () => {
      const kind = newKind();
      const id = await a.enqueue({ kind, payload: {} });
      await a.claim({ kinds: [kind], worker: 'w1', leaseMs: MINUTE, limit: 1 });
      for (let i = 0; i < 5; i++) {
        clock.advanceMs(MINUTE - 1000);
        expect(await a.extend(id, 'w1', MINUTE)).toBe(true);
        expect(await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 1 })).toEqual([]);
      }
      expect((await a.get(id))?.leaseUntil).toEqual(new Date(clock.now().getTime() + MINUTE));
      expect(await a.extend(id, 'w2', MINUTE)).toBe(false);
      clock.advanceMs(MINUTE);
      expect(await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 1 })).toMatchObject([
        { id, attempts: 2 },
      ]);
    });

    it('retries a failed job after its backoff, then dead-letters it with its error', async () => {
      const kind = newKind();
      const id = await a.enqueue({ kind, payload: { to: 'PEER' }, maxAttempts: 3 });
      for (let attempt = 1; attempt <= 2; attempt++) {
        const [job] = await a.claim({ kinds: [kind], worker: `w${attempt}`, leaseMs: MINUTE, limit: 1 });
        expect(job).toMatchObject({ id, attempts: attempt });
        const delay = backoffDelay(attempt, 0.5);
        const retryAt = new Date(clock.now().getTime() + delay);
        expect(await a.fail(id, `w${attempt}`, `association refused (${attempt})`, { retryAt })).toBe(
          'queued',
        );
        expect(await b.get(id)).toMatchObject({
          state: 'queued',
          attempts: attempt,
          runAt: retryAt,
          lastError: `association refused (${attempt})`,
          leaseUntil: undefined,
          finishedAt: undefined,
        });
        clock.advanceMs(delay - 1);
        expect(await b.claim({ kinds: [kind], worker: 'early', leaseMs: MINUTE, limit: 1 })).toEqual([]);
        clock.advanceMs(1);
      }
      const [last] = await b.claim({ kinds: [kind], worker: 'w3', leaseMs: MINUTE, limit: 1 });
      expect(last).toMatchObject({ id, attempts: 3, lastError: 'association refused (2)' });
      expect(await b.fail(id, 'w3', 'x'.repeat(10_000), { retryAt: clock.now() })).toBe('failed');
      const dead = await a.get(id);
      expect(dead).toMatchObject({ state: 'failed', attempts: 3, maxAttempts: 3, worker: 'w3' });
      expect(dead?.lastError).toMatch(/^x+$/);
      expect(dead?.lastError?.length).toBeLessThan(10_000);
      expect(dead?.finishedAt).toEqual(clock.now());
      clock.advanceMs(24 * 60 * MINUTE);
      expect(await a.claim({ kinds: [kind], worker: 'w4', leaseMs: MINUTE, limit: 1 })).toEqual([]);
      expect(await a.fail(id, 'w3', 'again')).toBeUndefined();
      expect((await a.list({ kind, state: 'failed', limit: 10 })).map((j) => j.id)).toEqual([id]);
    });

    it('dead-letters a job whose worker vanished on its last attempt', async () => {
      const kind = newKind();
      const id = await a.enqueue({ kind, payload: {}, maxAttempts: 1 });
      await a.claim({ kinds: [kind], worker: 'crashed', leaseMs: MINUTE, limit: 1 });
      clock.advanceMs(MINUTE);
      expect(await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 1 })).toEqual([]);
      const dead = await b.get(id);
      expect(dead).toMatchObject({ state: 'failed', attempts: 1, worker: 'crashed', leaseUntil: undefined });
      expect(dead?.lastError).toMatch(/lease/);
      expect(await a.complete(id, 'crashed')).toBe(false);
    });

    it('claims a job no earlier than its run time, the earliest due first', async () => {
      const kind = newKind();
      const later = await a.enqueue({
        kind,
        payload: 'later',
        runAt: new Date(clock.now().getTime() + 10 * MINUTE),
      });
      const sooner = await a.enqueue({
        kind,
        payload: 'sooner',
        runAt: new Date(clock.now().getTime() + 5 * MINUTE),
      });
      expect(await b.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 5 })).toEqual([]);
      clock.advanceMs(5 * MINUTE - 1);
      expect(await b.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 5 })).toEqual([]);
      clock.advanceMs(1);
      expect(
        (await b.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 5 })).map((j) => j.id),
      ).toEqual([sooner]);
      expect(await b.complete(sooner, 'w')).toBe(true);
      clock.advanceMs(10 * MINUTE);
      const past = await a.enqueue({
        kind,
        payload: 'past',
        runAt: new Date(clock.now().getTime() - 10 * MINUTE),
      });
      // Both due: the one due first comes first, though it was added last.
      const [first] = await b.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 1 });
      const [second] = await b.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 1 });
      expect([first.id, second.id]).toEqual([past, later]);
      expect([first.payload, second.payload]).toEqual(['past', 'later']);
    });

    it('enqueues a job with a dedupe key once while it is pending', async () => {
      const kind = newKind();
      const first = await a.enqueue({ kind, payload: { n: 1 }, dedupeKey: 'study-1' });
      expect(await b.enqueue({ kind, payload: { n: 2 }, dedupeKey: 'study-1' })).toBe(first);
      expect(await b.get(first)).toMatchObject({ payload: { n: 1 }, dedupeKey: 'study-1' });
      // Another key, or the same key for another kind, is another job.
      expect(await b.enqueue({ kind, payload: {}, dedupeKey: 'study-2' })).not.toBe(first);
      expect(await b.enqueue({ kind: newKind(), payload: {}, dedupeKey: 'study-1' })).not.toBe(first);
      // Racing enqueues from both nodes agree on one job.
      const raced = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).enqueue({ kind, payload: { i }, dedupeKey: 'study-3' }),
        ),
      );
      expect(new Set(raced).size).toBe(1);

      // Still one while it runs; once done, the key is free again.
      await a.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 10 });
      expect(await a.enqueue({ kind, payload: {}, dedupeKey: 'study-1' })).toBe(first);
      expect(await a.complete(first, 'w')).toBe(true);
      const again = await a.enqueue({ kind, payload: { n: 3 }, dedupeKey: 'study-1' });
      expect(again).not.toBe(first);
      expect(await a.get(again)).toMatchObject({ state: 'queued', payload: { n: 3 } });
      expect((await a.list({ kind, limit: 100 })).filter((j) => j.dedupeKey === 'study-1')).toHaveLength(2);
    });

    it('reschedules a stepwise job: queued again with its new payload and run time, its key kept', async () => {
      const kind = newKind();
      const id = await a.enqueue({ kind, payload: { afterId: 0 }, dedupeKey: 'pass', maxAttempts: 2 });
      const [first] = await a.claim({ kinds: [kind], worker: 'w1', leaseMs: MINUTE, limit: 1 });
      expect(first.attempts).toBe(1);
      const later = new Date(clock.now().getTime() + 10 * MINUTE);
      expect(await a.reschedule(id, 'w2', { afterId: 99 }, later)).toBe(false); // not its worker
      expect(await a.reschedule(id, 'w1', { afterId: 200 }, later)).toBe(true);
      expect(await b.get(id)).toMatchObject({
        state: 'queued',
        payload: { afterId: 200 },
        attempts: 0,
        runAt: later,
        dedupeKey: 'pass',
        leaseUntil: undefined,
      });
      expect(await b.enqueue({ kind, payload: { afterId: 0 }, dedupeKey: 'pass' })).toBe(id);
      expect(await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 1 })).toEqual([]);
      clock.advanceMs(10 * MINUTE);
      const [again] = await b.claim({ kinds: [kind], worker: 'w2', leaseMs: MINUTE, limit: 1 });
      expect(again).toMatchObject({ id, payload: { afterId: 200 }, attempts: 1 });
      expect(await a.reschedule(id, 'w1', { afterId: 1 }, later)).toBe(false); // no longer its job
      expect(await b.complete(id, 'w2')).toBe(true);
    });

    it('lists jobs by state and kind, a page at a time, with attempts and last error', async () => {
      const kind = newKind();
      const other = newKind();
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push(await a.enqueue({ kind, payload: { i }, maxAttempts: 2 }));
      await a.enqueue({ kind: other, payload: {} });
      const [j0, j1, j2] = await a.claim({ kinds: [kind], worker: 'w', leaseMs: MINUTE, limit: 3 });
      expect([j0.id, j1.id, j2.id]).toEqual(ids.slice(0, 3));
      await a.complete(j0.id, 'w');
      await a.fail(j1.id, 'w', 'peer unknown', { retryAt: new Date(clock.now().getTime() + MINUTE) });

      const all = await b.list({ kind, limit: 100 });
      expect(all.map((j) => [j.id, j.state, j.attempts, j.lastError])).toEqual([
        [ids[0], 'done', 1, undefined],
        [ids[1], 'queued', 1, 'peer unknown'],
        [ids[2], 'running', 1, undefined],
        [ids[3], 'queued', 0, undefined],
        [ids[4], 'queued', 0, undefined],
      ]);
      expect((await b.list({ kind, state: 'queued', limit: 100 })).map((j) => j.id)).toEqual([
        ids[1],
        ids[3],
        ids[4],
      ]);
      expect((await b.list({ kind, state: 'running', limit: 100 })).map((j) => j.id)).toEqual([ids[2]]);
      expect(await b.list({ kind, state: 'failed', limit: 100 })).toEqual([]);
      const page1 = await b.list({ kind, limit: 2 });
      const page2 = await b.list({ kind, limit: 2, after: page1[1].id });
      const page3 = await b.list({ kind, limit: 2, after: page2[1].id });
      expect([...page1, ...page2, ...page3].map((j) => j.id)).toEqual(ids);
      expect((await b.list({ state: 'queued', limit: 1000 })).some((j) => j.kind === other)).toBe(true);
      expect(await b.get(2 ** 31 - 1)).toBeUndefined();
    });

    it('refuses what it cannot keep', async () => {
      const kind = newKind();
      await expect(a.enqueue({ kind: '', payload: {} })).rejects.toThrow(RangeError);
      await expect(a.enqueue({ kind, payload: {}, maxAttempts: 0 })).rejects.toThrow(RangeError);
      await expect(a.enqueue({ kind, payload: {}, runAt: new Date(Number.NaN) })).rejects.toThrow(RangeError);
      await expect(a.claim({ kinds: [], worker: 'w', leaseMs: MINUTE, limit: 1 })).rejects.toThrow(
        RangeError,
      );
      await expect(a.claim({ kinds: [kind], worker: 'w', leaseMs: 0, limit: 1 })).rejects.toThrow(RangeError);
      expect(await a.list({ kind, limit: 10 })).toEqual([]);
    });
  });
}
