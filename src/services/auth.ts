import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { LanternError, NotFoundError } from '../core/errors.js';
import { passwordProblem } from '../core/security/password-policy.js';
import type { Actor } from '../core/security/actor.js';
import { isRole, type Permission, permissionsOf } from '../core/security/roles.js';
import type { AccountRecord, AccountStore, SessionRecord, TokenRecord } from '../ports/accounts.js';
import type { Clock } from '../ports/clock.js';
import { EVENT, EVENT_TYPE, OBJECT_ID } from '../core/audit/events.js';
import type { AuditService } from './audit.js';

export type { Actor } from '../core/security/actor.js';

export interface OidcSettings {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly rolesClaim: string;
  readonly loginClaim: string;
}

/** How long a login attempt waits for the attempts in progress before it (at once) to end. */
const ATTEMPT_WAIT_MS = 10_000;

export interface AuthSettings {
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  /** Failed logins for one login name within the window before it is locked. */
  readonly lockoutThreshold: number;
  readonly lockoutMinutes: number;
  /** Failed logins from one address within the window before it is throttled. */
  readonly addressThreshold: number;
  readonly oidc?: OidcSettings;
}

const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

function claimAt(payload: Record<string, unknown>, path: string): unknown {
  let v: unknown = payload;
  for (const p of path.split('.'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

export interface LoginResult {
  /** The session secret, for the cookie (never stored). */
  readonly secret: string;
  readonly csrf: string;
  readonly account: AccountRecord;
  readonly expiresAt: string;
}

/** A published view of an account (no hash). */
export function publicAccount(a: AccountRecord): {
  login: string;
  displayName: string;
  roles: readonly string[];
  enabled: boolean;
  mustChangePassword: boolean;
} {
  return {
    login: a.login,
    displayName: a.displayName,
    roles: a.roles,
    enabled: a.enabled,
    mustChangePassword: a.mustChange,
  };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const secret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
/** argon2id, OWASP's parameters (19 MiB, 2 passes). */
const ARGON = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;
export const TOKEN_PREFIX = 'lnt_';

/**
 * Accounts, passwords, sessions, API tokens and login throttling. Everything that decides who someone is
 * lives here; the HTTP layer only carries cookies and headers to it.
 */
export class AuthService {
  /** A hash to verify against when the login is unknown, so both answers take the same time. */
  private dummyHash: Promise<string> | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly settings: AuthSettings,
    private readonly commonPasswords: ReadonlySet<string>,
    private readonly audit?: AuditService,
  ) {}

  /** A User Authentication event (login, logout; success or failure) for `login` from `address`. */
  private async authEvent(
    type: 'login' | 'logout',
    login: string,
    address: string,
    outcome: 0 | 4,
    description?: string,
  ): Promise<void> {
    await this.audit?.record({
      eventId: EVENT.userAuthentication,
      action: 'E',
      outcome,
      outcomeDescription: description,
      types: [type === 'login' ? EVENT_TYPE.login : EVENT_TYPE.logout],
      participants: [
        {
          userId: `${login}@${this.audit.settings.site}`,
          userName: login,
          requestor: true,
          networkAccessPoint: address,
        },
        this.audit.self(),
      ],
    });
  }

  /** A Security Alert for a change to an account's security attributes or roles, made by `by`. */
  private async accountEvent(
    by: Actor | undefined,
    login: string,
    what: string,
    roles = false,
  ): Promise<void> {
    await this.audit?.record({
      eventId: EVENT.securityAlert,
      action: 'E',
      outcome: 0,
      outcomeDescription: what,
      types: [roles ? EVENT_TYPE.securityRolesChanged : EVENT_TYPE.userSecurityAttributesChanged],
      participants: [this.audit.participant(by, true), this.audit.self()],
      objects: [
        {
          typeCode: 2,
          role: 13,
          idType: OBJECT_ID.userIdentifier,
          id: `${login}@${this.audit.settings.site}`,
        },
      ],
    });
  }

  private now(): Date {
    return this.clock.now();
  }

  private iso(offsetMs = 0): string {
    return new Date(this.now().getTime() + offsetMs).toISOString();
  }

  checkPassword(password: string, login: string): void {
    const problem = passwordProblem(password, login, this.commonPasswords);
    if (problem) throw new LanternError('LNT_PASSWORD_POLICY', problem);
  }

  /** A random one-time password (shown once; the account must change it at first login). */
  static oneTimePassword(): string {
    return secret(18);
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

  /** Creates an account with a one-time password (returned), or the one given (then policy-checked). */
  async createAccount(
    a: { login: string; displayName?: string; roles: readonly string[] },
    password?: string,
    by?: Actor,
  ): Promise<{ account: AccountRecord; password: string }> {
    if (!LOGIN.test(a.login)) {
      throw new LanternError(
        'LNT_QUERY_INVALID',
        'a login is 2-64 letters, digits and . _ @ -, starting with a letter or digit',
      );
    }
    for (const r of a.roles)
      if (!isRole(r)) throw new LanternError('LNT_QUERY_INVALID', `there is no role ${r}`);
    const oneTime = password === undefined;
    const pw = password ?? AuthService.oneTimePassword();
    if (!oneTime) this.checkPassword(pw, a.login);
    const now = this.iso();
    const created = await this.store.insertAccount({
      login: a.login,
      displayName: a.displayName ?? a.login,
      roles: [...a.roles],
      enabled: true,
      passwordHash: await hash(pw, ARGON),
      mustChange: oneTime,
      generation: 0,
      createdAt: now,
      updatedAt: now,
    });
    if (!created) throw new LanternError('LNT_CONFLICT', `the login ${a.login} is taken`);
    await this.accountEvent(by, a.login, `account created with roles ${a.roles.join(',') || '(none)'}`, true);
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

  /** Changes roles, the enabled flag or the display name; any change of roles or enabled ends the sessions. */
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
      this.iso(),
    );
    if (security) await this.store.deleteSessionsOf(a.id);
    const what = [
      ...(change.roles !== undefined ? [`roles ${change.roles.join(',') || '(none)'}`] : []),
      ...(change.enabled !== undefined ? [change.enabled ? 'enabled' : 'disabled'] : []),
      ...(change.displayName !== undefined ? ['display name changed'] : []),
    ].join('; ');
    await this.accountEvent(by, login, what || 'no change', change.roles !== undefined);
    return this.account(login);
  }

  /** Sets a new one-time password (recovery, or an administrator's reset); ends the account's sessions. */
  async resetPassword(login: string, by?: Actor): Promise<string> {
    const a = await this.account(login);
    const pw = AuthService.oneTimePassword();
    await this.store.updateAccount(
      login,
      { passwordHash: await hash(pw, ARGON), mustChange: true, generation: a.generation + 1 },
      this.iso(),
    );
    await this.store.deleteSessionsOf(a.id);
    await this.store.clearThrottle(`login:${login.toLowerCase()}`);
    await this.accountEvent(by, login, 'one-time password set');
    return pw;
  }

  /** The user's own change: the current password proves it is them; other sessions end, this one stays. */
  async changePassword(
    accountId: number,
    current: string,
    next: string,
    keepSession?: string,
  ): Promise<void> {
    const a = await this.store.findAccountById(accountId);
    if (!a || !(await verify(a.passwordHash, current)))
      throw new LanternError('LNT_AUTH_FAILED', 'the current password is wrong');
    this.checkPassword(next, a.login);
    if (next === current)
      throw new LanternError('LNT_PASSWORD_POLICY', 'the new password must differ from the current one');
    await this.store.updateAccount(
      a.login,
      { passwordHash: await hash(next, ARGON), mustChange: false },
      this.iso(),
    );
    const owner: Actor = {
      kind: 'user',
      login: a.login,
      accountId: a.id,
      roles: a.roles,
      permissions: permissionsOf(a.roles),
      via: 'session',
    };
    await this.accountEvent(owner, a.login, 'password changed by its owner');
    for (const s of await this.store.listSessions(a.id))
      if (s.idHash !== keepSession) await this.store.deleteSession(s.idHash);
  }

  /**
   * Begins an attempt against `key` before any password is checked. Refused ('locked') when `key` is locked
   * or its failures reached the threshold; while failures and the attempts being checked at this moment
   * would pass it, the attempt waits for those to end (a burst of guesses gets no more checks than guesses
   * sent one by one, and a burst of right passwords is not refused), and is refused ('busy') if they do not
   * end in time.
   */
  private async begin(key: string, threshold: number): Promise<'ok' | 'locked' | 'busy'> {
    const windowMs = this.settings.lockoutMinutes * 60_000;
    for (let waited = 0; ;) {
      const now = this.now().getTime();
      const r = await this.store.beginAttempt(key, this.iso(), new Date(now - windowMs).toISOString());
      const locked = (!!r.lockedUntil && Date.parse(r.lockedUntil) > now) || r.failures >= threshold;
      if (!locked && r.failures + r.inProgress <= threshold) return 'ok';
      await this.store.endAttempt(key, false);
      if (locked) {
        await this.store.lockThrottle(key, this.iso(windowMs));
        return 'locked';
      }
      if (waited >= ATTEMPT_WAIT_MS) return 'busy';
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
      waited += 50;
    }
  }

  /** Ends an attempt; a failure that reaches the threshold locks `key` for lockoutMinutes. */
  private async end(key: string, failed: boolean, threshold: number): Promise<void> {
    const failures = await this.store.endAttempt(key, failed);
    if (failed && failures >= threshold)
      await this.store.lockThrottle(key, this.iso(this.settings.lockoutMinutes * 60_000));
  }

  /**
   * Checks a login and password: unknown login and wrong password get the same error and take the same time;
   * repeated failures lock the login name (whether it exists or not) and throttle the address.
   */
  private async credentials(login: string, password: string, address: string): Promise<AccountRecord> {
    const loginKey = `login:${login.toLowerCase()}`;
    const addressKey = `address:${address}`;
    const { lockoutThreshold, addressThreshold } = this.settings;
    // The address first: a throttled address counts nothing against the logins it tries.
    let refusal = await this.begin(addressKey, addressThreshold);
    if (refusal === 'ok') {
      refusal = await this.begin(loginKey, lockoutThreshold);
      if (refusal !== 'ok') await this.end(addressKey, false, addressThreshold);
    }
    if (refusal !== 'ok') {
      await this.authEvent(
        'login',
        login.slice(0, 64),
        address,
        4,
        'refused: locked out after failed logins',
      );
      throw new LanternError(
        'LNT_AUTH_LOCKED',
        refusal === 'locked'
          ? 'too many failed logins; try again later'
          : 'too many logins at the same time; try again shortly',
      );
    }
    const a = login.length <= 64 ? await this.store.findAccount(login) : undefined;
    this.dummyHash ??= hash(secret(), ARGON);
    const ok =
      password.length <= 1024 &&
      (await verify(a?.passwordHash || (await this.dummyHash), password).catch(() => false)) &&
      !!a &&
      a.enabled;
    if (!ok || !a) {
      await this.end(loginKey, true, lockoutThreshold);
      await this.end(addressKey, true, addressThreshold);
      await this.authEvent('login', login.slice(0, 64), address, 4, 'wrong login or password');
      throw new LanternError('LNT_AUTH_FAILED', 'the login or the password is wrong');
    }
    // A success clears the login's failures; the address keeps its failures (one success does not excuse
    // guesses at other logins) and takes back this attempt only.
    await this.store.endAttempt(loginKey, false);
    await this.store.resetFailures(loginKey);
    await this.end(addressKey, false, addressThreshold);
    return a;
  }

  /**
   * A DICOM association's user identity (PS3.7 D.3.3.7, username and passcode) checked against the accounts,
   * with the same throttling as logins. An account whose one-time password is not yet changed is refused.
   */
  async verifyPeerUser(
    login: string,
    passcode: string,
    address: string,
  ): Promise<{ login: string; permissions: ReadonlySet<Permission> } | undefined> {
    try {
      const a = await this.credentials(login, passcode, address);
      if (a.mustChange) return undefined;
      await this.authEvent('login', a.login, address, 0, 'DICOM association user identity');
      return { login: a.login, permissions: permissionsOf(a.roles) };
    } catch (e) {
      if (e instanceof LanternError) return undefined;
      throw e;
    }
  }

  /**
   * Logs in with a login and password. Unknown login and wrong password get the same error and take the same
   * time; repeated failures lock the login name (whether it exists or not) and throttle the address.
   */
  async login(login: string, password: string, address: string, userAgent: string): Promise<LoginResult> {
    const a = await this.credentials(login, password, address);
    await this.authEvent('login', a.login, address, 0);
    const sessionSecret = secret();
    const csrf = secret(24);
    const expiresAt = this.iso(this.settings.sessionMaxHours * 3_600_000);
    await this.store.insertSession({
      idHash: sha256(sessionSecret),
      accountId: a.id,
      generation: a.generation,
      csrf,
      createdAt: this.iso(),
      lastSeenAt: this.iso(),
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
  ): Promise<{ actor: Actor; session: SessionRecord; account: AccountRecord } | undefined> {
    const idHash = sha256(sessionSecret);
    const s = await this.store.findSession(idHash);
    if (!s) return undefined;
    const now = this.now().getTime();
    const idle = now - Date.parse(s.lastSeenAt) > this.settings.sessionIdleMinutes * 60_000;
    const a = await this.store.findAccountById(s.accountId);
    if (idle || now >= Date.parse(s.expiresAt) || !a || !a.enabled || a.generation !== s.generation) {
      await this.store.deleteSession(idHash);
      return undefined;
    }
    // Activity is recorded at most every 15 seconds (a viewer makes many requests a second).
    if (now - Date.parse(s.lastSeenAt) > 15_000) await this.store.touchSession(idHash, this.iso());
    return { actor: this.userActor(a, 'session'), session: s, account: a };
  }

  private userActor(a: AccountRecord, via: 'session' | 'token' | 'oidc'): Actor {
    return {
      kind: 'user',
      login: a.login,
      accountId: a.id,
      roles: a.roles,
      permissions: permissionsOf(a.roles),
      via,
    };
  }

  async logout(sessionSecret: string, login?: string, address = ''): Promise<boolean> {
    const ended = await this.store.deleteSession(sha256(sessionSecret));
    if (ended && login) await this.authEvent('logout', login, address, 0);
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

  /** A new API token for an account, shown once (only its hash is kept). */
  async createToken(
    login: string,
    options: { name?: string; expiresInDays?: number } = {},
    by?: Actor,
  ): Promise<{ token: string; record: TokenRecord }> {
    const a = await this.account(login);
    const token = TOKEN_PREFIX + secret(32);
    const expiresAt = options.expiresInDays ? this.iso(options.expiresInDays * 86_400_000) : undefined;
    const rec = {
      tokenHash: sha256(token),
      accountId: a.id,
      name: options.name ?? '',
      createdAt: this.iso(),
      expiresAt,
      revokedAt: undefined,
      lastUsedAt: undefined,
    };
    const id = await this.store.insertToken(rec);
    await this.accountEvent(by, login, `API token ${id} created${expiresAt ? `, expires ${expiresAt}` : ''}`);
    return { token, record: { ...rec, id } };
  }

  /** The actor of a bearer API token, when it is valid (not revoked, not expired, its account enabled). */
  async token(token: string): Promise<Actor | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return undefined;
    const t = await this.store.findToken(sha256(token));
    if (!t || t.revokedAt || (t.expiresAt && Date.parse(t.expiresAt) <= this.now().getTime()))
      return undefined;
    const a = await this.store.findAccountById(t.accountId);
    if (!a || !a.enabled) return undefined;
    if (!t.lastUsedAt || this.now().getTime() - Date.parse(t.lastUsedAt) > 60_000)
      await this.store.touchToken(t.id, this.iso());
    return this.userActor(a, 'token');
  }

  /** Whether bearer JWTs from an OpenID Connect provider are accepted. */
  get oidcEnabled(): boolean {
    return !!this.settings.oidc?.issuer;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    const o = this.settings.oidc!;
    let url = o.jwksUrl;
    if (!url) {
      const res = await fetch(`${o.issuer!.replace(/\/$/, '')}/.well-known/openid-configuration`);
      const doc = (await res.json()) as { jwks_uri?: string; issuer?: string };
      if (!res.ok || !doc.jwks_uri) throw new Error('the OpenID provider publishes no jwks_uri');
      url = doc.jwks_uri;
    }
    this.jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    return this.jwks;
  }

  /**
   * The actor of an OpenID Connect bearer JWT: signed by the provider's key set (no `none`, no HMAC), from the
   * configured issuer, for this audience, not expired; its roles claim mapped to Lantern roles (unknown names
   * ignored). Undefined when it is not valid.
   */
  async oidcToken(jwt: string): Promise<Actor | undefined> {
    const o = this.settings.oidc;
    if (!o?.issuer || jwt.length > 16384) return undefined;
    try {
      const { payload } = await jwtVerify(jwt, await this.keySet(), {
        issuer: o.issuer,
        audience: o.audience,
        algorithms: JWT_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: this.now(),
        clockTolerance: 30,
      });
      const login = claimAt(payload, o.loginClaim) ?? payload.sub;
      const claimed = claimAt(payload, o.rolesClaim);
      const roles = (
        Array.isArray(claimed) ? claimed : typeof claimed === 'string' ? claimed.split(/[ ,]/) : []
      ).filter((r): r is string => typeof r === 'string' && isRole(r));
      if (typeof login !== 'string' || !login) return undefined;
      return {
        kind: 'user',
        login: `${login}@oidc`,
        accountId: 0,
        roles,
        permissions: permissionsOf(roles),
        via: 'oidc',
      };
    } catch {
      return undefined;
    }
  }

  tokensOf(accountId: number): Promise<TokenRecord[]> {
    return this.store.listTokens(accountId);
  }

  async revokeToken(accountId: number, id: number, by?: Actor): Promise<boolean> {
    const revoked = await this.store.revokeToken(accountId, id, this.iso());
    const a = revoked ? await this.store.findAccountById(accountId) : undefined;
    if (a) await this.accountEvent(by, a.login, `API token ${id} revoked`);
    return revoked;
  }
}
