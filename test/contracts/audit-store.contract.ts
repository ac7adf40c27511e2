import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRow, AuditStore } from '../../src/ports/audit.js';

export interface AuditStoreBackend {
  /**
   * The audit store of the suite's one database, migrated: called twice, it stands for two processes
   * sharing the trail.
   */
  open(): Promise<{ readonly audit: AuditStore; close(): Promise<void> }>;
  /** Runs SQL directly on the database, beside the adapter (as someone with database access could). */
  raw(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

const base = Date.now();
const iso = (ms = 0) => new Date(base + ms).toISOString();
const chain = (prev: string, id: number, event: string) =>
  createHash('sha256').update(`${prev}|${id}|${event}`).digest('hex');

/** One suite, every index adapter: the audit trail appends, chains, filters and refuses change alike. */
export function auditStoreContract(name: string, backend: AuditStoreBackend): void {
  describe(`audit store contract: ${name}`, () => {
    let a: { readonly audit: AuditStore; close(): Promise<void> };
    let b: { readonly audit: AuditStore; close(): Promise<void> };
    /** A user of the test's own, so that filters see only its records. */
    const newUser = () => `u-${randomUUID()}@contract`;
    const rec = (
      userId: string,
      over: Partial<Omit<AuditRow, 'id' | 'prevHash' | 'hash'>> = {},
    ): Omit<AuditRow, 'id' | 'prevHash' | 'hash'> => ({
      at: iso(),
      eventId: '110112',
      action: 'E',
      outcome: 0,
      userId,
      patientIds: [],
      studyUids: [],
      event: JSON.stringify({ userId, n: randomUUID() }),
      ...over,
    });
    const append = (store: AuditStore, r: Omit<AuditRow, 'id' | 'prevHash' | 'hash'>) =>
      store.append(r, (prev, id) => chain(prev, id, r.event));

    beforeAll(async () => {
      a = await backend.open();
      b = await backend.open();
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await backend.cleanup();
    });

    it('starts empty and numbers records from 1, each chained to the one before', async () => {
      expect(await a.audit.head()).toMatchObject({ id: 0 });
      const genesis = (await a.audit.head())!.hash;
      const user = newUser();
      const first = await append(a.audit, rec(user));
      expect(first.id).toBe(1);
      expect(first.prevHash).toBe(genesis);
      expect(first.hash).toBe(chain(genesis, 1, first.event));
      const second = await append(a.audit, rec(user));
      expect(second).toMatchObject({ id: 2, prevHash: first.hash });
      expect(await b.audit.head()).toEqual({ id: 2, hash: second.hash });
    });

    it('appenders on two connections make one unbroken chain', async () => {
      const user = newUser();
      const before = (await a.audit.head())!;
      const rows = await Promise.all(
        Array.from({ length: 20 }, (_, i) => append(i % 2 ? b.audit : a.audit, rec(user))),
      );
      expect(rows.map((r) => r.id).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 20 }, (_, i) => before.id + 1 + i),
      );
      const scanned = await a.audit.scan(before.id, 100);
      expect(scanned.map((r) => r.id)).toEqual(rows.map((r) => r.id).sort((x, y) => x - y));
      let prev = before.hash;
      for (const r of scanned) {
        expect(r.prevHash).toBe(prev);
        expect(r.hash).toBe(chain(prev, r.id, r.event));
        prev = r.hash;
      }
      expect(await b.audit.head()).toEqual({ id: scanned.at(-1)!.id, hash: prev });
    });

    it('keeps every field as it was given', async () => {
      const user = newUser();
      const given = rec(user, {
        at: iso(5),
        eventId: '110106',
        action: 'R',
        outcome: 4,
        patientIds: ['P1', 'P 2'],
        studyUids: ['1.2.3', '1.2.4'],
        event: '{"x":"ü\\u0000é"}',
      });
      const row = await append(a.audit, given);
      const [read] = await b.audit.scan(row.id - 1, 1);
      expect(read).toEqual({ ...given, id: row.id, prevHash: row.prevHash, hash: row.hash });
    });

    it('filters by time, user, event, outcome, patient and study, newest first, a page at a time', async () => {
      const user = newUser();
      const other = newUser();
      const r1 = await append(
        a.audit,
        rec(user, { at: iso(1000), patientIds: ['P_1'], studyUids: ['1.2.5'] }),
      );
      const r2 = await append(a.audit, rec(user, { at: iso(2000), eventId: '110103', outcome: 8 }));
      const r3 = await append(a.audit, rec(user, { at: iso(3000), patientIds: ['PX1', 'P9'] }));
      await append(a.audit, rec(other, { at: iso(2000), patientIds: ['P_1'] }));
      const ids = (rows: AuditRow[]) => rows.map((r) => r.id);
      expect(ids(await a.audit.list({ userId: user }, 10, 0))).toEqual([r3.id, r2.id, r1.id]);
      expect(ids(await a.audit.list({ userId: user }, 2, 1))).toEqual([r2.id, r1.id]);
      expect(ids(await a.audit.list({ userId: user, from: iso(1500), to: iso(2500) }, 10, 0))).toEqual([
        r2.id,
      ]);
      expect(ids(await a.audit.list({ userId: user, eventId: '110103' }, 10, 0))).toEqual([r2.id]);
      expect(ids(await a.audit.list({ userId: user, outcome: 8 }, 10, 0))).toEqual([r2.id]);
      expect(ids(await a.audit.list({ userId: user, outcome: 0 }, 10, 0))).toEqual([r3.id, r1.id]);
      expect(ids(await a.audit.list({ userId: user, studyUid: '1.2.5' }, 10, 0))).toEqual([r1.id]);
      expect(ids(await a.audit.list({ userId: user, patientId: 'P9' }, 10, 0))).toEqual([r3.id]);
      // A patient's records are that patient's: identifiers with LIKE's wildcards match only themselves,
      // and one identifier never matches part of another.
      expect(ids(await a.audit.list({ userId: user, patientId: 'P_1' }, 10, 0))).toEqual([r1.id]);
      expect(ids(await a.audit.list({ userId: user, patientId: 'P%' }, 10, 0))).toEqual([]);
      expect(ids(await a.audit.list({ userId: user, patientId: 'P' }, 10, 0))).toEqual([]);
      expect(ids(await a.audit.list({ userId: user, studyUid: '1.2' }, 10, 0))).toEqual([]);
    });

    it('the database refuses to change or remove a record', async () => {
      const row = await append(a.audit, rec(newUser()));
      await expect(backend.raw(`update audit_record set outcome = 4 where id = ${row.id}`)).rejects.toThrow(
        /append-only/,
      );
      await expect(backend.raw(`delete from audit_record where id = ${row.id}`)).rejects.toThrow(
        /append-only/,
      );
      const [read] = await a.audit.scan(row.id - 1, 1);
      expect(read).toEqual(row);
    });
  });
}
