import { hash, verify } from '@node-rs/argon2';
import { LanternError } from '../../core/errors.js';
import type { AccountRecord, AccountStore } from '../../ports/accounts.js';
import type { Clock } from '../../ports/clock.js';
import type { AuthEvents } from './auth-events.js';
import type { AuthSettings } from './settings.js';
import { ARGON, isoAfter, secret, sha256 } from './secrets.js';

/** How long a login attempt waits for the attempts in progress before it (at once) to end. */
const ATTEMPT_WAIT_MS = 10_000;

/** The throttle key of a login name (the same whether the account exists or not). */
/**
 * The throttle key of a login name: the name itself, or its digest when longer than any login can be (a
 * guess of a megabyte is throttled like any other, and keeps a row of a few dozen bytes).
 */
export const loginKey = (login: string): string => {
  const lower = login.toLowerCase();
  return lower.length <= 64 ? `login:${lower}` : `login:sha256:${sha256(lower)}`;
};

/** How often old throttle rows are forgotten (checked when a login begins). */
const PURGE_EVERY_MS = 60_000;

/**
 * Login names and passwords checked against the accounts, with login throttling: every attempt is counted
 * before its password is hashed, and repeated failures lock the login name and throttle the address.
 */
export class Credentials {
  /** A hash to verify against when the login is unknown, so both answers take the same time. */
  private dummyHash: Promise<string> | undefined;
  private lastPurge = 0;

  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly settings: AuthSettings,
    private readonly events: AuthEvents,
  ) {}

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
      const now = this.clock.now().getTime();
      const r = await this.store.beginAttempt(
        key,
        isoAfter(this.clock),
        new Date(now - windowMs).toISOString(),
      );
      const locked = (!!r.lockedUntil && Date.parse(r.lockedUntil) > now) || r.failures >= threshold;
      if (!locked && r.failures + r.inProgress <= threshold) return 'ok';
      await this.store.endAttempt(key, false);
      if (locked) {
        await this.store.lockThrottle(key, isoAfter(this.clock, windowMs));
        return 'locked';
      }
      if (waited >= ATTEMPT_WAIT_MS) return 'busy';
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
      waited += 50;
    }
  }

  /**
   * Forgets, at most once a minute, the throttles of windows that ended with no lock in force (logins tried
   * once and never again would otherwise stay forever); one stuck with an attempt in progress from a stop
   * goes after a day.
   */
  private async purge(): Promise<void> {
    const now = this.clock.now().getTime();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    const windowMs = this.settings.lockoutMinutes * 60_000;
    await this.store.purgeThrottles(
      new Date(now - windowMs).toISOString(),
      new Date(now).toISOString(),
      new Date(now - 86_400_000).toISOString(),
    );
  }

  /** Ends an attempt; a failure that reaches the threshold locks `key` for lockoutMinutes. */
  private async end(key: string, failed: boolean, threshold: number): Promise<void> {
    const failures = await this.store.endAttempt(key, failed);
    if (failed && failures >= threshold)
      await this.store.lockThrottle(key, isoAfter(this.clock, this.settings.lockoutMinutes * 60_000));
  }

  /**
   * Checks a login and password: unknown login and wrong password get the same error and take the same time;
   * repeated failures lock the login name (whether it exists or not) and throttle the address.
   */
  async check(
    login: string,
    password: string,
    address: string,
    second?: (a: AccountRecord) => Promise<'ok' | 'missing' | 'wrong'>,
  ): Promise<AccountRecord> {
    const loginThrottle = loginKey(login);
    const addressThrottle = `address:${address.slice(0, 64)}`;
    await this.purge();
    const { lockoutThreshold, addressThreshold } = this.settings;
    // The address first: a throttled address counts nothing against the logins it tries.
    let refusal = await this.begin(addressThrottle, addressThreshold);
    if (refusal === 'ok') {
      refusal = await this.begin(loginThrottle, lockoutThreshold);
      if (refusal !== 'ok') await this.end(addressThrottle, false, addressThreshold);
    }
    if (refusal !== 'ok') {
      await this.events.authEvent(
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
      await this.end(loginThrottle, true, lockoutThreshold);
      await this.end(addressThrottle, true, addressThreshold);
      await this.events.authEvent('login', login.slice(0, 64), address, 4, 'wrong login or password');
      throw new LanternError('LNT_AUTH_FAILED', 'the login or the password is wrong');
    }
    // The second factor, within the same attempt: a wrong code is a failed login like a wrong password; a
    // missing one ends the attempt uncounted (the client asks for the code and comes back).
    const factor = second ? await second(a) : 'ok';
    if (factor === 'missing') {
      await this.store.endAttempt(loginThrottle, false);
      await this.end(addressThrottle, false, addressThreshold);
      throw new LanternError(
        'LNT_MFA_REQUIRED',
        'enter the code from your authenticator app (or a recovery code)',
      );
    }
    if (factor === 'wrong') {
      await this.end(loginThrottle, true, lockoutThreshold);
      await this.end(addressThrottle, true, addressThreshold);
      await this.events.authEvent('login', a.login, address, 4, 'wrong second-factor code');
      throw new LanternError('LNT_MFA_FAILED', 'the code is wrong, too old or used already');
    }
    // A success clears the login's failures; the address keeps its failures (one success does not excuse
    // guesses at other logins) and takes back this attempt only.
    await this.store.endAttempt(loginThrottle, false);
    await this.store.resetFailures(loginThrottle);
    await this.end(addressThrottle, false, addressThreshold);
    return a;
  }
}
