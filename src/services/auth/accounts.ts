import { hash } from '@node-rs/argon2';
import { LanternError, NotFoundError } from '../../core/errors.js';
import { passwordProblem, type PasswordRules } from '../../core/security/password-policy.js';
import type { Actor } from '../../core/security/actor.js';
import { isRole, permissionsOf } from '../../core/security/roles.js';
import type { AccountRecord, AccountStore } from '../../ports/accounts.js';
import type { Clock } from '../../ports/clock.js';
import type { AuthEvents } from './auth-events.js';
import { type Credentials, loginKey } from './credentials.js';
import { ARGON, isoAfter, secret } from './secrets.js';

const LOGIN = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

/** A published view of an account (no hash). */
export function publicAccount(a: AccountRecord): {
  login: string;
  displayName: string;
  roles: readonly string[];
  enabled: boolean;
  mustChangePassword: boolean;
  kind: 'person' | 'service';
} {
  return {
    login: a.login,
    displayName: a.displayName,
    roles: a.roles,
    enabled: a.enabled,
    mustChangePassword: a.mustChange,
    kind: a.kind,
  };
}

/** The actor an account acts as, how it proved who it is, and with which credential. */
export function userActor(
  a: AccountRecord,
  via: 'session' | 'token' | 'oidc',
  credential?: { readonly credential: string; readonly issuedBy?: string },
): Actor {
  return {
    kind: 'user',
    login: a.login,
    accountId: a.id,
    roles: a.roles,
    permissions: permissionsOf(a.roles),
    via,
    ...(credential ? { credential: credential.credential } : {}),
    ...(credential?.issuedBy && credential.issuedBy !== a.login ? { issuedBy: credential.issuedBy } : {}),
  };
}

/** A random one-time password (shown once; the account must change it at first login). */
export function oneTimePassword(): string {
  return secret(18);
}

/** Accounts and their passwords: creation, roles, the enabled flag, resets and the owner's own change. */
export class AccountService {
  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly passwordRules: PasswordRules,
    private readonly events: AuthEvents,
    private readonly credentials: Credentials,
  ) {}

  checkPassword(password: string, login: string): void {
    const problem = passwordProblem(password, login, this.passwordRules);
    if (problem) throw new LanternError('LNT_PASSWORD_POLICY', problem);
  }

  /**
   * First start: when there is no account at all, creates `admin` (administrator) with a one-time password and
   * returns it to be printed once. Undefined when accounts exist.
   */
  async bootstrap(): Promise<string | undefined> {
    if ((await this.store.countAccounts()) > 0) return undefined;
    const { password } = await this.createAccount({
      login: 'admin',
      displayName: 'Administrator',
      roles: ['administrator'],
    });
    return password;
  }

  /**
   * Creates a person's account with a one-time password (returned), or the one given (then policy-checked),
   * or a service account (no password: it cannot log in, and acts through tokens made for it; '' returned).
   */
  async createAccount(
    a: { login: string; displayName?: string; roles: readonly string[]; kind?: 'person' | 'service' },
    password?: string,
    by?: Actor,
  ): Promise<{ account: AccountRecord; password: string }> {
    const service = a.kind === 'service';
    if (service && password !== undefined)
      throw new LanternError('LNT_QUERY_INVALID', 'a service account has no password');
    if (!LOGIN.test(a.login)) {
      throw new LanternError(
        'LNT_QUERY_INVALID',
        'a login is 2-64 letters, digits and . _ @ -, starting with a letter or digit',
      );
    }
    for (const r of a.roles)
      if (!isRole(r)) throw new LanternError('LNT_QUERY_INVALID', `there is no role ${r}`);
    const oneTime = password === undefined && !service;
    const pw = service ? '' : (password ?? oneTimePassword());
    if (password !== undefined) this.checkPassword(pw, a.login);
    const now = isoAfter(this.clock);
    const created = await this.store.insertAccount({
      login: a.login,
      displayName: a.displayName ?? a.login,
      roles: [...a.roles],
      enabled: true,
      passwordHash: service ? '' : await hash(pw, ARGON),
      mustChange: oneTime,
      generation: 0,
      createdAt: now,
      updatedAt: now,
      kind: service ? 'service' : 'person',
    });
    if (!created) throw new LanternError('LNT_CONFLICT', `the login ${a.login} is taken`);
    await this.events.accountEvent(
      by,
      a.login,
      `${service ? 'service account' : 'account'} created with roles ${a.roles.join(',') || '(none)'}`,
      true,
    );
    return { account: (await this.store.findAccount(a.login))!, password: pw };
  }

  async account(login: string): Promise<AccountRecord> {
    const a = await this.store.findAccount(login);
    if (!a) throw new NotFoundError(`there is no account ${login}`);
    return a;
  }

  listAccounts(): Promise<AccountRecord[]> {
    return this.store.listAccounts();
  }

  /**
   * Changes roles, the enabled flag or the display name; any change of roles or enabled ends the sessions
   * and revokes the tokens (a token made under other roles, or before a disabling, is not carried over).
   */
  async updateAccount(
    login: string,
    change: { displayName?: string; roles?: readonly string[]; enabled?: boolean },
    by?: Actor,
  ): Promise<AccountRecord> {
    const a = await this.account(login);
    for (const r of change.roles ?? [])
      if (!isRole(r)) throw new LanternError('LNT_QUERY_INVALID', `there is no role ${r}`);
    const security =
      (change.enabled !== undefined && change.enabled !== a.enabled) ||
      (change.roles !== undefined && change.roles.join(',') !== a.roles.join(','));
    await this.store.updateAccount(
      login,
      {
        ...change,
        roles: change.roles ? [...change.roles] : undefined,
        generation: security ? a.generation + 1 : undefined,
      },
      isoAfter(this.clock),
    );
    const revoked = security ? await this.endCredentials(a.id) : 0;
    const what = [
      ...(change.roles !== undefined ? [`roles ${change.roles.join(',') || '(none)'}`] : []),
      ...(change.enabled !== undefined ? [change.enabled ? 'enabled' : 'disabled'] : []),
      ...(change.displayName !== undefined ? ['display name changed'] : []),
      ...(revoked ? [`${revoked} API token(s) revoked`] : []),
    ].join('; ');
    await this.events.accountEvent(by, login, what || 'no change', change.roles !== undefined);
    return this.account(login);
  }

  /** Ends an account's sessions and revokes its tokens; returns how many tokens were revoked. */
  private async endCredentials(accountId: number): Promise<number> {
    await this.store.deleteSessionsOf(accountId);
    return this.store.revokeTokensOf(accountId, isoAfter(this.clock));
  }

  /**
   * Sets a new one-time password (recovery, or an administrator's reset); ends the account's sessions and
   * revokes its tokens.
   */
  async resetPassword(login: string, by?: Actor): Promise<string> {
    const a = await this.account(login);
    if (a.kind === 'service')
      throw new LanternError('LNT_QUERY_INVALID', `${login} is a service account: it has no password`);
    const pw = oneTimePassword();
    await this.store.updateAccount(
      login,
      { passwordHash: await hash(pw, ARGON), mustChange: true, generation: a.generation + 1 },
      isoAfter(this.clock),
    );
    const revoked = await this.endCredentials(a.id);
    await this.store.clearThrottle(loginKey(login));
    await this.events.accountEvent(
      by,
      login,
      `one-time password set${revoked ? `; ${revoked} API token(s) revoked` : ''}`,
    );
    return pw;
  }

  /**
   * The user's own change: the current password proves it is them, checked through the login throttle (wrong
   * current passwords count as failed logins and lock alike); other sessions end, this one stays, and the
   * account's tokens are revoked (one made by whoever knew the old password does not outlive it).
   */
  async changePassword(
    accountId: number,
    current: string,
    next: string,
    keepSession?: string,
    address = '',
  ): Promise<void> {
    const a = await this.store.findAccountById(accountId);
    if (!a) throw new LanternError('LNT_AUTH_FAILED', 'the current password is wrong');
    try {
      await this.credentials.check(a.login, current, address);
    } catch (e) {
      if (e instanceof LanternError && e.code === 'LNT_AUTH_FAILED')
        throw new LanternError('LNT_AUTH_FAILED', 'the current password is wrong');
      throw e;
    }
    this.checkPassword(next, a.login);
    if (next === current)
      throw new LanternError('LNT_PASSWORD_POLICY', 'the new password must differ from the current one');
    await this.store.updateAccount(
      a.login,
      { passwordHash: await hash(next, ARGON), mustChange: false },
      isoAfter(this.clock),
    );
    for (const s of await this.store.listSessions(a.id))
      if (s.idHash !== keepSession) await this.store.deleteSession(s.idHash);
    const revoked = await this.store.revokeTokensOf(a.id, isoAfter(this.clock));
    await this.events.accountEvent(
      userActor(a, 'session'),
      a.login,
      `password changed by its owner${revoked ? `; ${revoked} API token(s) revoked` : ''}`,
    );
  }
}
