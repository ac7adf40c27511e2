/** A person's (or a service's) account. */
export interface AccountRecord {
  readonly id: number;
  readonly login: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly enabled: boolean;
  /** argon2id PHC string; empty for an account that cannot log in with a password. */
  readonly passwordHash: string;
  /** The password was set by someone else (or at first start): it must be changed at the next login. */
  readonly mustChange: boolean;
  /** Bumped when roles or the enabled flag change: sessions from an older generation are over. */
  readonly generation: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * A person logs in (password, sessions) and makes their own API tokens; a service has no password, cannot
   * log in, and acts only through tokens an administrator makes for it.
   */
  readonly kind: 'person' | 'service';
}

/** A person's second factor: a TOTP secret (RFC 6238) and recovery codes. */
export interface MfaRecord {
  readonly accountId: number;
  /** Base32. */
  readonly secret: string;
  /** When a first code confirmed it; undefined while enrolment is pending. */
  readonly enabledAt: string | undefined;
  /** The last time step accepted. */
  readonly lastStep: number;
  /** SHA-256 hex of the recovery codes not yet used. */
  readonly recovery: readonly string[];
}

export interface SessionRecord {
  /** SHA-256 of the session secret (the cookie holds the secret; the store never does). */
  readonly idHash: string;
  readonly accountId: number;
  readonly generation: number;
  readonly csrf: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  /** The absolute end of the session, whatever its activity. */
  readonly expiresAt: string;
  readonly address: string;
  readonly userAgent: string;
}

export interface TokenRecord {
  readonly id: number;
  /** SHA-256 of the token (shown once, never stored). */
  readonly tokenHash: string;
  readonly accountId: number;
  readonly name: string;
  readonly createdAt: string;
  readonly expiresAt: string | undefined;
  readonly revokedAt: string | undefined;
  readonly lastUsedAt: string | undefined;
  /** Who made it: the owner's login, an administrator's (service accounts), 'lantern' (command line). */
  readonly createdBy: string;
}

export interface ThrottleRecord {
  readonly key: string;
  readonly failures: number;
  /** Attempts whose password is being checked now. */
  readonly inProgress: number;
  readonly windowStart: string;
  readonly lockedUntil: string | undefined;
}

/** Accounts, sessions, API tokens and login throttling, kept in the index database. */
export interface AccountStore {
  countAccounts(): Promise<number>;
  listAccounts(): Promise<AccountRecord[]>;
  findAccount(login: string): Promise<AccountRecord | undefined>;
  findAccountById(id: number): Promise<AccountRecord | undefined>;
  /** Creates an account; false when the login is taken. */
  insertAccount(a: Omit<AccountRecord, 'id'>): Promise<boolean>;
  updateAccount(
    login: string,
    change: Partial<
      Pick<AccountRecord, 'displayName' | 'roles' | 'enabled' | 'passwordHash' | 'mustChange' | 'generation'>
    >,
    now: string,
  ): Promise<boolean>;

  insertSession(s: SessionRecord): Promise<void>;
  findSession(idHash: string): Promise<SessionRecord | undefined>;
  touchSession(idHash: string, lastSeenAt: string): Promise<void>;
  deleteSession(idHash: string): Promise<boolean>;
  listSessions(accountId: number): Promise<SessionRecord[]>;
  deleteSessionsOf(accountId: number): Promise<number>;

  insertToken(t: Omit<TokenRecord, 'id'>): Promise<number>;
  findToken(tokenHash: string): Promise<TokenRecord | undefined>;
  listTokens(accountId: number): Promise<TokenRecord[]>;
  revokeToken(accountId: number, id: number, now: string): Promise<boolean>;
  /** Revokes every token of the account still in force; returns how many. */
  revokeTokensOf(accountId: number, now: string): Promise<number>;
  touchToken(id: number, now: string): Promise<void>;

  findMfa(accountId: number): Promise<MfaRecord | undefined>;
  /** Starts (or restarts) an enrolment: a pending secret, replacing one not yet confirmed; false if enabled. */
  beginMfa(accountId: number, secret: string): Promise<boolean>;
  /** Confirms the pending secret with the step of its first code and the recovery codes' hashes. */
  enableMfa(accountId: number, at: string, step: number, recovery: readonly string[]): Promise<boolean>;
  /** Takes a time step if it is later than the last one taken, in one statement (a code is good once). */
  takeMfaStep(accountId: number, step: number): Promise<boolean>;
  /** Takes a recovery code (its hash) if it is still unused, in one statement; true when it was. */
  takeRecoveryCode(accountId: number, hash: string): Promise<boolean>;
  deleteMfa(accountId: number): Promise<boolean>;

  getThrottle(key: string): Promise<ThrottleRecord | undefined>;
  /**
   * Begins one login attempt against `key` in one atomic statement, so that attempts made at the same time
   * each see the others: a new window (no failures) starts when the current one began before
   * `windowStartedBefore` and no lock is in force at `now`. Returns the failures counted, the attempts in
   * progress (this one included) and the lock, if any.
   */
  beginAttempt(
    key: string,
    now: string,
    windowStartedBefore: string,
  ): Promise<{
    readonly failures: number;
    readonly inProgress: number;
    readonly lockedUntil: string | undefined;
  }>;
  /**
   * Ends an attempt begun with beginAttempt: one fewer in progress, one more failure when it failed.
   * Returns the failures now counted; a row with nothing left to remember is removed.
   */
  endAttempt(key: string, failed: boolean): Promise<number>;
  /** Forgets `key`'s failures and lock (a successful login), keeping the attempts in progress. */
  resetFailures(key: string): Promise<void>;
  /** Locks `key` until `until`, unless a later lock is already in force. */
  lockThrottle(key: string, until: string): Promise<void>;
  clearThrottle(key: string): Promise<void>;
  /**
   * Forgets the throttles whose window began before `windowStartedBefore` and that hold no lock in force at
   * `now` and no attempt in progress (an attempt in progress in a window begun before `abandonedBefore` was
   * cut off by a stop and counts as none); returns how many.
   */
  purgeThrottles(windowStartedBefore: string, now: string, abandonedBefore: string): Promise<number>;
}
