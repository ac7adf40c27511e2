import { type Kysely, type Selectable, sql } from 'kysely';
import type {
  AccountRecord,
  AccountStore,
  SessionRecord,
  ThrottleRecord,
  TokenRecord,
  MfaRecord,
} from '../../ports/accounts.js';
import type { AccountTable, ApiTokenTable, Database, SessionTable } from './schema.js';

function toAccount(r: Selectable<AccountTable>): AccountRecord {
  return {
    id: Number(r.id),
    login: r.login,
    displayName: r.display_name,
    roles: r.roles ? r.roles.split(',') : [],
    enabled: Number(r.enabled) === 1,
    passwordHash: r.password_hash,
    mustChange: Number(r.must_change) === 1,
    generation: Number(r.generation),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    kind: r.kind === 'service' ? 'service' : 'person',
  };
}

function toSession(r: Selectable<SessionTable>): SessionRecord {
  return {
    idHash: r.id_hash,
    accountId: Number(r.account_fk),
    generation: Number(r.generation),
    csrf: r.csrf,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    address: r.address,
    userAgent: r.user_agent,
  };
}

function toToken(r: Selectable<ApiTokenTable>): TokenRecord {
  return {
    id: Number(r.id),
    tokenHash: r.token_hash,
    accountId: Number(r.account_fk),
    name: r.name,
    createdAt: r.created_at,
    expiresAt: r.expires_at ?? undefined,
    revokedAt: r.revoked_at ?? undefined,
    lastUsedAt: r.last_used_at ?? undefined,
    createdBy: r.created_by,
  };
}

/** The account store over the index database (SQLite or PostgreSQL through kysely). */
export class KyselyAccountStore implements AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  async countAccounts(): Promise<number> {
    const r = await this.db
      .selectFrom('account')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.db.selectFrom('account').selectAll().orderBy('login').execute()).map(toAccount);
  }

  async findAccount(login: string): Promise<AccountRecord | undefined> {
    const r = await this.db.selectFrom('account').selectAll().where('login', '=', login).executeTakeFirst();
    return r ? toAccount(r) : undefined;
  }

  async findAccountById(id: number): Promise<AccountRecord | undefined> {
    const r = await this.db.selectFrom('account').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toAccount(r) : undefined;
  }

  async insertAccount(a: Omit<AccountRecord, 'id'>): Promise<boolean> {
    const r = await this.db
      .insertInto('account')
      .values({
        login: a.login,
        display_name: a.displayName,
        roles: a.roles.join(','),
        enabled: a.enabled ? 1 : 0,
        password_hash: a.passwordHash,
        must_change: a.mustChange ? 1 : 0,
        generation: a.generation,
        created_at: a.createdAt,
        updated_at: a.updatedAt,
        kind: a.kind,
      })
      .onConflict((oc) => oc.column('login').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async updateAccount(
    login: string,
    change: Partial<
      Pick<AccountRecord, 'displayName' | 'roles' | 'enabled' | 'passwordHash' | 'mustChange' | 'generation'>
    >,
    now: string,
  ): Promise<boolean> {
    const set: {
      updated_at: string;
      display_name?: string;
      roles?: string;
      enabled?: number;
      password_hash?: string;
      must_change?: number;
      generation?: number;
    } = { updated_at: now };
    if (change.displayName !== undefined) set.display_name = change.displayName;
    if (change.roles !== undefined) set.roles = change.roles.join(',');
    if (change.enabled !== undefined) set.enabled = change.enabled ? 1 : 0;
    if (change.passwordHash !== undefined) set.password_hash = change.passwordHash;
    if (change.mustChange !== undefined) set.must_change = change.mustChange ? 1 : 0;
    if (change.generation !== undefined) set.generation = change.generation;
    const r = await this.db.updateTable('account').set(set).where('login', '=', login).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async insertSession(s: SessionRecord): Promise<void> {
    await this.db
      .insertInto('session')
      .values({
        id_hash: s.idHash,
        account_fk: s.accountId,
        generation: s.generation,
        csrf: s.csrf,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
        expires_at: s.expiresAt,
        address: s.address,
        user_agent: s.userAgent,
      })
      .execute();
  }

  async findSession(idHash: string): Promise<SessionRecord | undefined> {
    const r = await this.db
      .selectFrom('session')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return r ? toSession(r) : undefined;
  }

  async touchSession(idHash: string, lastSeenAt: string): Promise<void> {
    await this.db
      .updateTable('session')
      .set({ last_seen_at: lastSeenAt })
      .where('id_hash', '=', idHash)
      .execute();
  }

  async deleteSession(idHash: string): Promise<boolean> {
    const r = await this.db.deleteFrom('session').where('id_hash', '=', idHash).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listSessions(accountId: number): Promise<SessionRecord[]> {
    const rows = await this.db
      .selectFrom('session')
      .selectAll()
      .where('account_fk', '=', accountId)
      .orderBy('created_at')
      .execute();
    return rows.map(toSession);
  }

  async deleteSessionsOf(accountId: number): Promise<number> {
    const r = await this.db.deleteFrom('session').where('account_fk', '=', accountId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async insertToken(t: Omit<TokenRecord, 'id'>): Promise<number> {
    const r = await this.db
      .insertInto('api_token')
      .values({
        token_hash: t.tokenHash,
        account_fk: t.accountId,
        name: t.name,
        created_at: t.createdAt,
        expires_at: t.expiresAt ?? null,
        revoked_at: null,
        last_used_at: null,
        created_by: t.createdBy,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async findToken(tokenHash: string): Promise<TokenRecord | undefined> {
    const r = await this.db
      .selectFrom('api_token')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return r ? toToken(r) : undefined;
  }

  async listTokens(accountId: number): Promise<TokenRecord[]> {
    const rows = await this.db
      .selectFrom('api_token')
      .selectAll()
      .where('account_fk', '=', accountId)
      .orderBy('id')
      .execute();
    return rows.map(toToken);
  }

  async revokeToken(accountId: number, id: number, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_token')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('account_fk', '=', accountId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async revokeTokensOf(accountId: number, now: string): Promise<number> {
    const r = await this.db
      .updateTable('api_token')
      .set({ revoked_at: now })
      .where('account_fk', '=', accountId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async touchToken(id: number, now: string): Promise<void> {
    await this.db.updateTable('api_token').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async findMfa(accountId: number): Promise<MfaRecord | undefined> {
    const r = await this.db
      .selectFrom('account_mfa')
      .selectAll()
      .where('account_fk', '=', accountId)
      .executeTakeFirst();
    return r
      ? {
          accountId,
          secret: r.secret,
          enabledAt: r.enabled_at ?? undefined,
          lastStep: Number(r.last_step),
          recovery: r.recovery ? r.recovery.split(',') : [],
        }
      : undefined;
  }

  async beginMfa(accountId: number, secret: string): Promise<boolean> {
    const r = await this.db
      .insertInto('account_mfa')
      .values({ account_fk: accountId, secret, enabled_at: null })
      .onConflict((oc) =>
        oc
          .column('account_fk')
          .doUpdateSet({ secret, last_step: 0, recovery: '' })
          .where('account_mfa.enabled_at', 'is', null),
      )
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async enableMfa(
    accountId: number,
    at: string,
    step: number,
    recovery: readonly string[],
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('account_mfa')
      .set({ enabled_at: at, last_step: step, recovery: recovery.join(',') })
      .where('account_fk', '=', accountId)
      .where('enabled_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async takeMfaStep(accountId: number, step: number): Promise<boolean> {
    const r = await this.db
      .updateTable('account_mfa')
      .set({ last_step: step })
      .where('account_fk', '=', accountId)
      .where('enabled_at', 'is not', null)
      .where('last_step', '<', step)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async takeRecoveryCode(accountId: number, hash: string): Promise<boolean> {
    for (;;) {
      const m = await this.findMfa(accountId);
      if (!m?.enabledAt || !m.recovery.includes(hash)) return false;
      // Compare and set on the whole list: two uses of one code at once take it once.
      const r = await this.db
        .updateTable('account_mfa')
        .set({ recovery: m.recovery.filter((h) => h !== hash).join(',') })
        .where('account_fk', '=', accountId)
        .where('recovery', '=', m.recovery.join(','))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) return true;
    }
  }

  async deleteMfa(accountId: number): Promise<boolean> {
    const r = await this.db.deleteFrom('account_mfa').where('account_fk', '=', accountId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async getThrottle(key: string): Promise<ThrottleRecord | undefined> {
    const r = await this.db
      .selectFrom('login_throttle')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirst();
    return r
      ? {
          key: r.key,
          failures: Number(r.failures),
          inProgress: Number(r.in_progress),
          windowStart: r.window_start,
          lockedUntil: r.locked_until ?? undefined,
        }
      : undefined;
  }

  async beginAttempt(
    key: string,
    now: string,
    windowStartedBefore: string,
  ): Promise<{ failures: number; inProgress: number; lockedUntil: string | undefined }> {
    // One statement: concurrent attempts are serialised by the row, never read-then-written.
    const fresh = sql<boolean>`login_throttle.window_start < ${windowStartedBefore} and (login_throttle.locked_until is null or login_throttle.locked_until <= ${now})`;
    const r = await this.db
      .insertInto('login_throttle')
      .values({ key, failures: 0, in_progress: 1, window_start: now, locked_until: null })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql<number>`case when ${fresh} then 0 else login_throttle.failures end`,
          in_progress: sql<number>`login_throttle.in_progress + 1`,
          window_start: sql<string>`case when ${fresh} then ${now} else login_throttle.window_start end`,
          locked_until: sql<string | null>`case when ${fresh} then null else login_throttle.locked_until end`,
        }),
      )
      .returning(['failures', 'in_progress', 'locked_until'])
      .executeTakeFirstOrThrow();
    return {
      failures: Number(r.failures),
      inProgress: Number(r.in_progress),
      lockedUntil: r.locked_until ?? undefined,
    };
  }

  async endAttempt(key: string, failed: boolean): Promise<number> {
    const r = await this.db
      .updateTable('login_throttle')
      .set({
        in_progress: sql<number>`case when in_progress > 0 then in_progress - 1 else 0 end`,
        failures: failed ? sql<number>`failures + 1` : sql<number>`failures`,
      })
      .where('key', '=', key)
      .returning(['failures'])
      .executeTakeFirst();
    // Nothing to remember (no failure, nothing in progress, no lock): the row goes.
    await this.db
      .deleteFrom('login_throttle')
      .where('key', '=', key)
      .where('failures', '=', 0)
      .where('in_progress', '=', 0)
      .where('locked_until', 'is', null)
      .execute();
    return Number(r?.failures ?? 0);
  }

  async resetFailures(key: string): Promise<void> {
    await this.db
      .updateTable('login_throttle')
      .set({ failures: 0, locked_until: null })
      .where('key', '=', key)
      .execute();
    await this.db
      .deleteFrom('login_throttle')
      .where('key', '=', key)
      .where('in_progress', '=', 0)
      .where('failures', '=', 0)
      .execute();
  }

  async lockThrottle(key: string, until: string): Promise<void> {
    await this.db
      .updateTable('login_throttle')
      .set({ locked_until: until })
      .where('key', '=', key)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', until)]))
      .execute();
  }

  async clearThrottle(key: string): Promise<void> {
    await this.db.deleteFrom('login_throttle').where('key', '=', key).execute();
  }

  async purgeThrottles(windowStartedBefore: string, now: string, abandonedBefore: string): Promise<number> {
    const r = await this.db
      .deleteFrom('login_throttle')
      .where('window_start', '<', windowStartedBefore)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .where((eb) => eb.or([eb('in_progress', '=', 0), eb('window_start', '<', abandonedBefore)]))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
