import type { Actor } from '../core/security/actor.js';
import type { PasswordRules } from '../core/security/password-policy.js';
import type { Permission } from '../core/security/roles.js';
import type { AccountRecord, AccountStore, SessionRecord, TokenRecord } from '../ports/accounts.js';
import type { Clock } from '../ports/clock.js';
import type { AuditService } from './audit.js';
import { AccountService, oneTimePassword } from './auth/accounts.js';
import { AuthEvents } from './auth/auth-events.js';
import { Credentials } from './auth/credentials.js';
import { verifyPeerUser } from './auth/dicom-identity.js';
import { OidcVerifier } from './auth/oidc.js';
import { type LoginResult, SessionService } from './auth/sessions.js';
import type { AuthSettings } from './auth/settings.js';
import { type TokenRequest, TokenService } from './auth/tokens.js';
import { type MfaEnrolment, MfaService } from './auth/mfa.js';
import { LanternError } from '../core/errors.js';

export type { Actor } from '../core/security/actor.js';
export { publicAccount } from './auth/accounts.js';
export type { OidcSettings } from './auth/oidc.js';
export type { LoginResult } from './auth/sessions.js';
export type { AuthSettings } from './auth/settings.js';
export { TOKEN_PREFIX, type TokenRequest } from './auth/tokens.js';

/**
 * Accounts, passwords, sessions, API tokens, OpenID Connect and login throttling. Everything that decides who
 * someone is lives behind this facade (in services/auth/); the HTTP layer only carries cookies and headers
 * to it.
 */
export class AuthService {
  private readonly accounts: AccountService;
  private readonly credentials: Credentials;
  private readonly sessions: SessionService;
  private readonly tokens: TokenService;
  private readonly oidc: OidcVerifier;
  private readonly events: AuthEvents;
  private readonly mfa: MfaService;

  constructor(
    private readonly store: AccountStore,
    clock: Clock,
    settings: AuthSettings,
    passwordRules: PasswordRules,
    audit?: AuditService,
  ) {
    this.events = new AuthEvents(audit);
    this.credentials = new Credentials(store, clock, settings, this.events);
    this.accounts = new AccountService(store, clock, passwordRules, this.events, this.credentials);
    this.mfa = new MfaService(store, clock, settings.mfaRoles ?? [], this.events);
    this.sessions = new SessionService(store, clock, settings, this.credentials, this.events, this.mfa);
    this.tokens = new TokenService(
      store,
      clock,
      this.accounts,
      this.credentials,
      this.events,
      settings.tokenMaxDays,
    );
    this.oidc = new OidcVerifier(settings, clock);
  }

  // Accounts and passwords (auth/accounts.ts).

  checkPassword(password: string, login: string): void {
    this.accounts.checkPassword(password, login);
  }

  /** A random one-time password (shown once; the account must change it at first login). */
  static oneTimePassword(): string {
    return oneTimePassword();
  }

  bootstrap(): Promise<string | undefined> {
    return this.accounts.bootstrap();
  }

  createAccount(
    a: { login: string; displayName?: string; roles: readonly string[]; kind?: 'person' | 'service' },
    password?: string,
    by?: Actor,
  ): Promise<{ account: AccountRecord; password: string }> {
    return this.accounts.createAccount(a, password, by);
  }

  account(login: string): Promise<AccountRecord> {
    return this.accounts.account(login);
  }

  listAccounts(): Promise<AccountRecord[]> {
    return this.accounts.listAccounts();
  }

  updateAccount(
    login: string,
    change: { displayName?: string; roles?: readonly string[]; enabled?: boolean },
    by?: Actor,
  ): Promise<AccountRecord> {
    return this.accounts.updateAccount(login, change, by);
  }

  resetPassword(login: string, by?: Actor): Promise<string> {
    return this.accounts.resetPassword(login, by);
  }

  changePassword(
    accountId: number,
    current: string,
    next: string,
    keepSession?: string,
    address?: string,
  ): Promise<void> {
    return this.accounts.changePassword(accountId, current, next, keepSession, address);
  }

  // DICOM user identity (auth/dicom-identity.ts), throttled as logins are (auth/credentials.ts).

  verifyPeerUser(
    login: string,
    passcode: string,
    address: string,
  ): Promise<{ login: string; permissions: ReadonlySet<Permission> } | undefined> {
    return verifyPeerUser(this.credentials, this.events, login, passcode, address, (a) =>
      this.mfa.required(a),
    );
  }

  // Sessions (auth/sessions.ts).

  login(
    login: string,
    password: string,
    address: string,
    userAgent: string,
    code?: string,
  ): Promise<LoginResult> {
    return this.sessions.login(login, password, address, userAgent, code);
  }

  session(
    sessionSecret: string,
  ): Promise<
    { actor: Actor; session: SessionRecord; account: AccountRecord; mfaSetupRequired: boolean } | undefined
  > {
    return this.sessions.session(sessionSecret);
  }

  // The second factor (auth/mfa.ts).

  /** Whether the account has a second factor, and whether its roles require one. */
  async mfaState(a: AccountRecord): Promise<{ required: boolean; enabled: boolean; recoveryLeft: number }> {
    return {
      required: this.mfa.required(a),
      enabled: await this.mfa.enabled(a),
      recoveryLeft: await this.mfa.recoveryLeft(a),
    };
  }

  /** Starts enrolment, the password confirmed again through the login throttle. */
  async beginMfa(a: AccountRecord, password: string, address: string): Promise<MfaEnrolment> {
    if (a.kind !== 'person') throw new LanternError('LNT_QUERY_INVALID', 'a service account does not log in');
    try {
      await this.credentials.check(a.login, password, address);
    } catch (e) {
      if (e instanceof LanternError && e.code === 'LNT_AUTH_FAILED')
        throw new LanternError('LNT_REAUTH_FAILED', 'the password is wrong; nothing was enrolled');
      throw e;
    }
    return this.mfa.begin(a);
  }

  confirmMfa(a: AccountRecord, code: string, by?: Actor): Promise<string[]> {
    return this.mfa.confirm(a, code, by);
  }

  /** Removes an account's second factor (a lost phone); its sessions end, and it enrols at the next login. */
  async resetMfa(login: string, by?: Actor): Promise<boolean> {
    const a = await this.accounts.account(login);
    const done = await this.mfa.reset(a, by);
    if (done) await this.store.deleteSessionsOf(a.id);
    return done;
  }

  logout(sessionSecret: string, login?: string, address = ''): Promise<boolean> {
    return this.sessions.logout(sessionSecret, login, address);
  }

  sessionsOf(accountId: number): Promise<SessionRecord[]> {
    return this.sessions.sessionsOf(accountId);
  }

  endSession(accountId: number, id: string): Promise<boolean> {
    return this.sessions.endSession(accountId, id);
  }

  // API tokens (auth/tokens.ts).

  createToken(
    login: string,
    options: TokenRequest = {},
    by?: Actor,
  ): Promise<{ token: string; record: TokenRecord }> {
    return this.tokens.createToken(login, options, by);
  }

  token(token: string): Promise<Actor | undefined> {
    return this.tokens.token(token);
  }

  tokensOf(accountId: number): Promise<TokenRecord[]> {
    return this.tokens.tokensOf(accountId);
  }

  /** When a token ends (its own end or the token policy's, whichever is sooner), in ms since the epoch. */
  tokenEnd(t: TokenRecord): number {
    return this.tokens.endOf(t);
  }

  revokeToken(accountId: number, id: number, by?: Actor): Promise<boolean> {
    return this.tokens.revokeToken(accountId, id, by);
  }

  // OpenID Connect (auth/oidc.ts).

  /** Whether bearer JWTs from an OpenID Connect provider are accepted. */
  get oidcEnabled(): boolean {
    return this.oidc.enabled;
  }

  oidcToken(jwt: string): Promise<Actor | undefined> {
    return this.oidc.token(jwt);
  }
}
