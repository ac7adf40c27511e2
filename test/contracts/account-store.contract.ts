import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRecord, AccountStore, SessionRecord } from '../../src/ports/accounts.js';

export interface AccountStoreBackend {
  /** The account store of a database of the suite's own, migrated (an Index is one). */
  open(): Promise<{ readonly accounts: AccountStore; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

const base = Date.now();
/** A time `ms` after the suite's start, as the store keeps times. */
const iso = (ms = 0) => new Date(base + ms).toISOString();
const hex = () => randomBytes(32).toString('hex');

function account(login: string, over: Partial<Omit<AccountRecord, 'id'>> = {}): Omit<AccountRecord, 'id'> {
  return {
    login,
    displayName: `${login} display`,
    roles: ['radiologist', 'auditor'],
    enabled: true,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    mustChange: false,
    generation: 0,
    createdAt: iso(),
    updatedAt: iso(),
    kind: 'person',
    ...over,
  };
}

function session(accountId: number, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    idHash: hex(),
    accountId,
    generation: 0,
    csrf: randomBytes(24).toString('base64url'),
    createdAt: iso(),
    lastSeenAt: iso(),
    expiresAt: iso(12 * 3_600_000),
    address: '192.0.2.7',
    userAgent: 'Mozilla/5.0 (contract)',
    ...over,
  };
}

/** One suite, every index adapter: accounts, sessions, tokens and login throttles behave the same. */
export function accountStoreContract(name: string, backend: AccountStoreBackend): void {
  describe(`account store contract: ${name}`, () => {
    let db: { readonly accounts: AccountStore; close(): Promise<void> };
    let store: AccountStore;
    /** A new account with a login of its own; its id. */
    const newAccount = async (over: Partial<Omit<AccountRecord, 'id'>> = {}) => {
      const login = `user-${randomBytes(4).toString('hex')}`;
      expect(await store.insertAccount(account(login, over))).toBe(true);
      return (await store.findAccount(login))!;
    };

    beforeAll(async () => {
      db = await backend.open();
      store = db.accounts;
    });

    afterAll(async () => {
      await db?.close();
      await backend.cleanup();
    });

    describe('accounts', () => {
      it('inserts an account and finds it by login and by id, every field as given', async () => {
        expect(await store.countAccounts()).toBe(0);
        expect(await store.listAccounts()).toEqual([]);
        const given = account('alice', { generation: 3, mustChange: true });
        expect(await store.insertAccount(given)).toBe(true);
        const found = await store.findAccount('alice');
        expect(found).toEqual({ ...given, id: expect.any(Number) });
        expect(await store.findAccountById(found!.id)).toEqual(found);
        expect(await store.countAccounts()).toBe(1);
        // Other shapes round-trip too: no roles, disabled, no password, a service account.
        const bare = account('svc.pacs_2@site-a', {
          roles: [],
          enabled: false,
          passwordHash: '',
          kind: 'service',
        });
        expect(await store.insertAccount(bare)).toBe(true);
        expect(await store.findAccount('svc.pacs_2@site-a')).toEqual({ ...bare, id: expect.any(Number) });
        expect(await store.findAccount('nobody')).toBeUndefined();
        expect(await store.findAccountById(-1)).toBeUndefined();
      });

      it('refuses a login that is taken, leaving the first account as it was', async () => {
        const first = await newAccount();
        expect(
          await store.insertAccount(account(first.login, { displayName: 'impostor', roles: ['admin'] })),
        ).toBe(false);
        expect(await store.findAccount(first.login)).toEqual(first);
      });

      it('matches logins exactly: case matters (the auth service folds case only for throttle keys)', async () => {
        const a = await newAccount();
        expect(await store.findAccount(a.login.toUpperCase())).toBeUndefined();
        expect(await store.updateAccount(a.login.toUpperCase(), { displayName: 'x' }, iso(1))).toBe(false);
        expect(await store.findAccount(a.login)).toEqual(a);
      });

      it('updates the fields given and the update time, nothing else; an unknown login is no update', async () => {
        const a = await newAccount();
        expect(await store.updateAccount(a.login, { displayName: 'Dr A', roles: ['admin'] }, iso(1000))).toBe(
          true,
        );
        const changed = { ...a, displayName: 'Dr A', roles: ['admin'], updatedAt: iso(1000) };
        expect(await store.findAccount(a.login)).toEqual(changed);
        expect(
          await store.updateAccount(
            a.login,
            { enabled: false, passwordHash: '', mustChange: true, generation: 9, roles: [] },
            iso(2000),
          ),
        ).toBe(true);
        expect(await store.findAccountById(a.id)).toEqual({
          ...changed,
          enabled: false,
          passwordHash: '',
          mustChange: true,
          generation: 9,
          roles: [],
          updatedAt: iso(2000),
        });
        // An empty change still records the time.
        expect(await store.updateAccount(a.login, {}, iso(3000))).toBe(true);
        expect((await store.findAccount(a.login))?.updatedAt).toBe(iso(3000));
        expect(await store.updateAccount('nobody', { displayName: 'x' }, iso(3000))).toBe(false);
        expect(await store.findAccount('nobody')).toBeUndefined();
      });

      it('lists every account by login, and counts them', async () => {
        await newAccount();
        const list = await store.listAccounts();
        expect(list.length).toBe(await store.countAccounts());
        expect(list.map((a) => a.login)).toEqual(list.map((a) => a.login).sort());
        for (const a of list) expect(await store.findAccount(a.login)).toEqual(a);
      });
    });

    describe('sessions', () => {
      it('inserts, finds, touches and lists the sessions of an account, oldest first', async () => {
        const a = await newAccount();
        const b = await newAccount();
        // Hashes, and insertion, in the other order than creation: the list follows creation.
        const later = session(a.id, {
          idHash: `00${hex().slice(2)}`,
          createdAt: iso(5000),
          lastSeenAt: iso(5000),
          generation: 2,
        });
        const earlier = session(a.id, {
          idHash: `ff${hex().slice(2)}`,
          createdAt: iso(1000),
          lastSeenAt: iso(1000),
          address: '2001:db8::1',
        });
        const others = session(b.id);
        for (const s of [later, earlier, others]) await store.insertSession(s);
        expect(await store.findSession(later.idHash)).toEqual(later);
        expect(await store.findSession(hex())).toBeUndefined();
        expect(await store.listSessions(a.id)).toEqual([earlier, later]);

        await store.touchSession(earlier.idHash, iso(9000));
        expect(await store.findSession(earlier.idHash)).toEqual({ ...earlier, lastSeenAt: iso(9000) });
        expect(await store.findSession(later.idHash)).toEqual(later);
        await store.touchSession(hex(), iso(9000)); // a session gone meanwhile: nothing to do
        expect(await store.listSessions(b.id)).toEqual([others]);
      });

      it('deletes one session, or all of an account, leaving other accounts their own', async () => {
        const a = await newAccount();
        const b = await newAccount();
        const [s1, s2, s3] = [session(a.id), session(a.id), session(a.id)];
        const kept = session(b.id);
        for (const s of [s1, s2, s3, kept]) await store.insertSession(s);
        expect(await store.deleteSession(s1.idHash)).toBe(true);
        expect(await store.deleteSession(s1.idHash)).toBe(false);
        expect(await store.findSession(s1.idHash)).toBeUndefined();
        expect(await store.deleteSessionsOf(a.id)).toBe(2);
        expect(await store.deleteSessionsOf(a.id)).toBe(0);
        expect(await store.listSessions(a.id)).toEqual([]);
        expect(await store.findSession(s2.idHash)).toBeUndefined();
        expect(await store.listSessions(b.id)).toEqual([kept]);
      });

      it('refuses a session of an account that does not exist', async () => {
        await expect(store.insertSession(session(987_654_321))).rejects.toThrow();
      });
    });

    describe('API tokens', () => {
      it('inserts tokens, finds one by its hash, lists those of an account by id', async () => {
        const a = await newAccount();
        const b = await newAccount();
        const never = {
          tokenHash: hex(),
          accountId: a.id,
          name: 'modality router',
          createdAt: iso(),
          createdBy: 'admin',
        };
        const id1 = await store.insertToken({
          ...never,
          expiresAt: undefined,
          revokedAt: undefined,
          lastUsedAt: undefined,
        });
        const id2 = await store.insertToken({
          tokenHash: hex(),
          createdBy: '',
          accountId: a.id,
          name: '',
          createdAt: iso(10),
          expiresAt: iso(90 * 86_400_000),
          revokedAt: undefined,
          lastUsedAt: undefined,
        });
        const id3 = await store.insertToken({
          tokenHash: hex(),
          createdBy: '',
          accountId: b.id,
          name: 'other',
          createdAt: iso(),
          expiresAt: undefined,
          revokedAt: undefined,
          lastUsedAt: undefined,
        });
        expect(new Set([id1, id2, id3]).size).toBe(3);
        expect(id2).toBeGreaterThan(id1);
        const first = await store.findToken(never.tokenHash);
        expect(first).toEqual({
          ...never,
          id: id1,
          expiresAt: undefined,
          revokedAt: undefined,
          lastUsedAt: undefined,
        });
        expect(await store.findToken(hex())).toBeUndefined();
        const listed = await store.listTokens(a.id);
        expect(listed.map((t) => t.id)).toEqual([id1, id2]);
        expect(listed[0]).toEqual(first);
        expect(listed[1]).toMatchObject({ name: '', expiresAt: iso(90 * 86_400_000), revokedAt: undefined });
        expect((await store.listTokens(b.id)).map((t) => t.id)).toEqual([id3]);
      });

      it('revokes a token of its own account once; touching records its last use', async () => {
        const a = await newAccount();
        const b = await newAccount();
        const hash = hex();
        const id = await store.insertToken({
          tokenHash: hash,
          createdBy: 'pacs-script',
          accountId: a.id,
          name: 'script',
          createdAt: iso(),
          expiresAt: undefined,
          revokedAt: undefined,
          lastUsedAt: undefined,
        });
        await store.touchToken(id, iso(1000));
        expect(await store.findToken(hash)).toMatchObject({ lastUsedAt: iso(1000), revokedAt: undefined });
        await store.touchToken(id, iso(2000));
        expect((await store.findToken(hash))?.lastUsedAt).toBe(iso(2000));
        // Another account's id does not reach it.
        expect(await store.revokeToken(b.id, id, iso(3000))).toBe(false);
        expect((await store.findToken(hash))?.revokedAt).toBeUndefined();
        expect(await store.revokeToken(a.id, id, iso(3000))).toBe(true);
        expect(await store.revokeToken(a.id, id, iso(4000))).toBe(false); // the first revocation stands
        expect(await store.findToken(hash)).toMatchObject({ revokedAt: iso(3000), lastUsedAt: iso(2000) });
        expect((await store.listTokens(a.id))[0]?.revokedAt).toBe(iso(3000));
        expect(await store.revokeToken(a.id, 987_654_321, iso(3000))).toBe(false);
      });

      it("revokes every token of an account still in force, and no other account's", async () => {
        const a = await newAccount();
        const b = await newAccount();
        const make = (accountId: number) =>
          store.insertToken({
            tokenHash: hex(),
            createdBy: 'lantern',
            accountId,
            name: '',
            createdAt: iso(),
            expiresAt: undefined,
            revokedAt: undefined,
            lastUsedAt: undefined,
          });
        const [a1, a2] = [await make(a.id), await make(a.id)];
        const b1 = await make(b.id);
        expect(await store.revokeToken(a.id, a1, iso(1000))).toBe(true);
        expect(await store.revokeTokensOf(a.id, iso(2000))).toBe(1);
        const listed = await store.listTokens(a.id);
        expect(listed.map((t) => [t.id, t.revokedAt])).toEqual([
          [a1, iso(1000)],
          [a2, iso(2000)],
        ]);
        expect((await store.listTokens(b.id)).map((t) => [t.id, t.revokedAt])).toEqual([[b1, undefined]]);
        expect(await store.revokeTokensOf(a.id, iso(3000))).toBe(0);
      });

      it('refuses a token of an account that does not exist', async () => {
        await expect(
          store.insertToken({
            tokenHash: hex(),
            createdBy: '',
            accountId: 987_654_321,
            name: '',
            createdAt: iso(),
            expiresAt: undefined,
            revokedAt: undefined,
            lastUsedAt: undefined,
          }),
        ).rejects.toThrow();
      });
    });

    describe('login throttles', () => {
      const newKey = () => `login:${randomBytes(4).toString('hex')}`;

      it('begins and ends attempts: failures counted, a row with nothing to remember removed', async () => {
        const key = newKey();
        expect(await store.getThrottle(key)).toBeUndefined();
        expect(await store.beginAttempt(key, iso(0), iso(-900_000))).toEqual({
          failures: 0,
          inProgress: 1,
          lockedUntil: undefined,
        });
        expect(await store.getThrottle(key)).toEqual({
          key,
          failures: 0,
          inProgress: 1,
          windowStart: iso(0),
          lockedUntil: undefined,
        });
        expect(await store.endAttempt(key, true)).toBe(1);
        await store.beginAttempt(key, iso(1000), iso(-899_000));
        expect(await store.endAttempt(key, true)).toBe(2);
        // The window began at the first attempt and stays while it is young.
        expect(await store.getThrottle(key)).toEqual({
          key,
          failures: 2,
          inProgress: 0,
          windowStart: iso(0),
          lockedUntil: undefined,
        });
        // Ending an attempt that was never begun counts nothing and leaves nothing.
        const other = newKey();
        expect(await store.endAttempt(other, false)).toBe(0);
        expect(await store.getThrottle(other)).toBeUndefined();
        // A success forgets the failures: nothing left to remember, the row goes.
        await store.resetFailures(key);
        expect(await store.getThrottle(key)).toBeUndefined();
      });

      it('starts a new window once the old one began long enough ago, unless a lock is in force', async () => {
        const key = newKey();
        await store.beginAttempt(key, iso(0), iso(-900_000));
        await store.endAttempt(key, true);
        // The window began before the limit: the failures are forgotten and a new window begins.
        expect(await store.beginAttempt(key, iso(1_000_000), iso(100_000))).toEqual({
          failures: 0,
          inProgress: 1,
          lockedUntil: undefined,
        });
        expect((await store.getThrottle(key))?.windowStart).toBe(iso(1_000_000));
        await store.endAttempt(key, true);
        await store.lockThrottle(key, iso(5_000_000));
        // Old window, but locked: the count stays, and the lock with it.
        expect(await store.beginAttempt(key, iso(3_000_000), iso(2_000_000))).toEqual({
          failures: 1,
          inProgress: 1,
          lockedUntil: iso(5_000_000),
        });
        await store.endAttempt(key, false);
        // Past the lock's end, a fresh start.
        expect(await store.beginAttempt(key, iso(5_000_000), iso(4_000_000))).toEqual({
          failures: 0,
          inProgress: 1,
          lockedUntil: undefined,
        });
        await store.clearThrottle(key);
        expect(await store.getThrottle(key)).toBeUndefined();
      });

      it('locks until the latest end asked for; clearing forgets everything, attempts in progress too', async () => {
        const key = newKey();
        await store.beginAttempt(key, iso(0), iso(-900_000));
        await store.lockThrottle(key, iso(60_000));
        await store.lockThrottle(key, iso(900_000));
        await store.lockThrottle(key, iso(120_000)); // an earlier end does not shorten it
        expect((await store.getThrottle(key))?.lockedUntil).toBe(iso(900_000));
        // A success lifts the lock with the failures, and keeps the attempt in progress.
        await store.resetFailures(key);
        expect(await store.getThrottle(key)).toMatchObject({
          failures: 0,
          inProgress: 1,
          lockedUntil: undefined,
        });
        await store.lockThrottle(key, iso(900_000));
        await store.clearThrottle(key);
        expect(await store.getThrottle(key)).toBeUndefined();
        await store.clearThrottle(key); // twice is fine
        // A key without a row gets no lock by itself: a lock follows counted failures.
        await store.lockThrottle(key, iso(900_000));
        expect(await store.getThrottle(key)).toBeUndefined();
      });

      it('purges throttles of ended windows, keeping locks in force and attempts in progress (a day at most)', async () => {
        const row = async (start: number, fail: boolean) => {
          const key = newKey();
          await store.beginAttempt(key, iso(start), iso(start - 900_000));
          if (fail) await store.endAttempt(key, true);
          return key;
        };
        const old = await row(-7_200_000, true);
        const locked = await row(-7_200_000, true);
        await store.lockThrottle(locked, iso(3_600_000));
        const running = await row(-7_200_000, false);
        const abandoned = await row(-2 * 86_400_000, false);
        const fresh = await row(0, true);
        expect(await store.purgeThrottles(iso(-900_000), iso(0), iso(-86_400_000))).toBeGreaterThanOrEqual(2);
        expect(await store.getThrottle(old)).toBeUndefined();
        expect(await store.getThrottle(abandoned)).toBeUndefined();
        for (const k of [locked, running, fresh]) expect(await store.getThrottle(k), k).toBeDefined();
      });

      it('counts login attempts atomically: fifty at once each see the others, failures apart', async () => {
        const key = 'login:race';
        const begun = await Promise.all(
          Array.from({ length: 50 }, () => store.beginAttempt(key, iso(0), iso(-900_000))),
        );
        expect(begun.map((c) => c.inProgress).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        // Ending them: failures count only the failed ones, and at once.
        const ended = await Promise.all(begun.map((_, i) => store.endAttempt(key, i < 7)));
        expect(Math.max(...ended)).toBe(7);
        expect(await store.getThrottle(key)).toMatchObject({ failures: 7, inProgress: 0 });
        await store.lockThrottle(key, iso(900_000));
        await store.lockThrottle(key, iso(60_000)); // an earlier end does not shorten it
        const locked = await store.beginAttempt(key, iso(1000), iso(-900_000));
        expect(locked).toMatchObject({ failures: 7, inProgress: 1, lockedUntil: iso(900_000) });
        await store.endAttempt(key, false);
        // Once both the window and the lock are over, counting starts again.
        expect(await store.beginAttempt(key, iso(1_000_000), iso(100_000))).toEqual({
          failures: 0,
          inProgress: 1,
          lockedUntil: undefined,
        });
        // A success forgets failures but not attempts still in progress; a row with nothing to remember goes.
        await store.endAttempt(key, true);
        await store.beginAttempt(key, iso(1_000_001), iso(100_000));
        await store.resetFailures(key);
        expect(await store.getThrottle(key)).toMatchObject({ failures: 0, inProgress: 1 });
        await store.endAttempt(key, false);
        expect(await store.getThrottle(key)).toBeUndefined();
      });
    });
  });
}
