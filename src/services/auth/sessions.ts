import type { Actor } from '../../core/security/actor.js';
import type { AccountRecord, AccountStore, SessionRecord } from '../../ports/accounts.js';
import type { Clock } from '../../ports/clock.js';
import { userActor } from './accounts.js';
import type { AuthEvents } from './auth-events.js';
import type { Credentials } from './credentials.js';
import type { MfaService } from './mfa.js';
import type { AuthSettings } from './settings.js';
import { isoAfter, secret, sha256 } from './secrets.js';

export interface LoginResult {
  /** The session secret, for the cookie (never stored). */
  readonly secret: string;
  readonly csrf: string;
  readonly account: AccountRecord;
  readonly expiresAt: string;
}

/** Sessions: a login opens one, a cookie's secret names it, idleness, its absolute end or logout end it. */
export class SessionService {
  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly settings: AuthSettings,
    private readonly credentials: Credentials,
    private readonly events: AuthEvents,
    private readonly mfa: MfaService,
  ) {}

  /**
   * Logs in with a login and password. Unknown login and wrong password get the same error and take the same
   * time; repeated failures lock the login name (whether it exists or not) and throttle the address.
   */
  async login(
    login: string,
    password: string,
    address: string,
    userAgent: string,
    code?: string,
  ): Promise<LoginResult> {
    const a = await this.credentials.check(login, password, address, async (account) => {
      if (!(await this.mfa.enabled(account))) return 'ok';
      if (!code) return 'missing';
      return (await this.mfa.check(account, code)) ? 'ok' : 'wrong';
    });
    await this.events.authEvent('login', a.login, address, 0);
    const sessionSecret = secret();
    const csrf = secret(24);
    const expiresAt = isoAfter(this.clock, this.settings.sessionMaxHours * 3_600_000);
    await this.store.insertSession({
      idHash: sha256(sessionSecret),
      accountId: a.id,
      generation: a.generation,
      csrf,
      createdAt: isoAfter(this.clock),
      lastSeenAt: isoAfter(this.clock),
      expiresAt,
      address,
      userAgent: userAgent.slice(0, 256),
    });
    return { secret: sessionSecret, csrf, account: a, expiresAt };
  }

  /**
   * The session a cookie's secret names, when it is still valid: not idle too long, not past its absolute end,
   * its account enabled and of the same generation (roles unchanged). Ended sessions are deleted.
   */
  async session(
    sessionSecret: string,
  ): Promise<
    { actor: Actor; session: SessionRecord; account: AccountRecord; mfaSetupRequired: boolean } | undefined
  > {
    const idHash = sha256(sessionSecret);
    const s = await this.store.findSession(idHash);
    if (!s) return undefined;
    const now = this.clock.now().getTime();
    const idle = now - Date.parse(s.lastSeenAt) > this.settings.sessionIdleMinutes * 60_000;
    const a = await this.store.findAccountById(s.accountId);
    if (idle || now >= Date.parse(s.expiresAt) || !a || !a.enabled || a.generation !== s.generation) {
      await this.store.deleteSession(idHash);
      return undefined;
    }
    // Activity is recorded at most every 15 seconds (a viewer makes many requests a second).
    if (now - Date.parse(s.lastSeenAt) > 15_000) await this.store.touchSession(idHash, isoAfter(this.clock));
    return {
      actor: userActor(a, 'session', { credential: `session ${idHash.slice(0, 16)}` }),
      session: s,
      account: a,
      // Signed in with the password only, though the role needs a second factor: enrolling is all it may do.
      mfaSetupRequired: await this.mfa.setupRequired(a),
    };
  }

  async logout(sessionSecret: string, login?: string, address = ''): Promise<boolean> {
    const ended = await this.store.deleteSession(sha256(sessionSecret));
    if (ended && login) await this.events.authEvent('logout', login, address, 0);
    return ended;
  }

  async sessionsOf(accountId: number): Promise<SessionRecord[]> {
    return this.store.listSessions(accountId);
  }

  /** Ends one of the account's own sessions, named by the first 16 characters of its hash. */
  async endSession(accountId: number, id: string): Promise<boolean> {
    const s = (await this.store.listSessions(accountId)).find(
      (x) => x.idHash.startsWith(id) && id.length >= 16,
    );
    return s ? this.store.deleteSession(s.idHash) : false;
  }
}
