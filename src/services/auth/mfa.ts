import { Secret, TOTP } from 'otpauth';
import { renderSVG } from 'uqr';
import { LanternError } from '../../core/errors.js';
import type { Actor } from '../../core/security/actor.js';
import type { AccountRecord, AccountStore } from '../../ports/accounts.js';
import type { Clock } from '../../ports/clock.js';
import type { AuthEvents } from './auth-events.js';
import { isoAfter, secret, sha256 } from './secrets.js';

const PERIOD = 30;
const RECOVERY_CODES = 10;

/** The TOTP of a secret: RFC 6238 as authenticator apps read it (SHA-1, 6 digits, 30 s). */
const totp = (login: string, base32: string) =>
  new TOTP({
    issuer: 'Lantern',
    label: login,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: Secret.fromBase32(base32),
  });

/** A recovery code as shown: ten letters and digits in two groups (about 50 bits). */
function recoveryCode(): string {
  const raw = secret(16)
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase()
    .slice(0, 10)
    .padEnd(10, '0');
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}
const normal = (code: string) => code.trim().toLowerCase().replace(/\s+/g, '');

/** What enrolment shows once: the secret for manual entry, the otpauth URI and its QR code (SVG). */
export interface MfaEnrolment {
  readonly secret: string;
  readonly uri: string;
  readonly qrSvg: string;
}

/**
 * Multi-factor login with TOTP (RFC 6238) and recovery codes. A person enrols in a signed-in session (a
 * secret, confirmed by a first code, then ten one-use recovery codes shown once); from then on a login
 * needs a current code (one step either side accepted, each step once) or an unused recovery code. Roles
 * listed in `security.mfaRoles` must enrol: until they have, their session can do nothing but enrol.
 */
export class MfaService {
  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly roles: readonly string[],
    private readonly events: AuthEvents,
  ) {}

  /** Whether the account's roles require a second factor (people only; services have no login). */
  required(a: AccountRecord): boolean {
    return a.kind === 'person' && a.roles.some((r) => this.roles.includes(r));
  }

  async enabled(a: AccountRecord): Promise<boolean> {
    return !!(await this.store.findMfa(a.id))?.enabledAt;
  }

  /** Whether a signed-in account must enrol before anything else. */
  async setupRequired(a: AccountRecord): Promise<boolean> {
    return this.required(a) && !(await this.enabled(a));
  }

  /** Starts enrolment (or starts it again while unconfirmed); refused once enabled (reset first). */
  async begin(a: AccountRecord): Promise<MfaEnrolment> {
    const s = new Secret({ size: 20 }).base32;
    if (!(await this.store.beginMfa(a.id, s)))
      throw new LanternError(
        'LNT_CONFLICT',
        'a second factor is enrolled already (an administrator can reset it)',
      );
    const uri = totp(a.login, s).toString();
    return { secret: s, uri, qrSvg: renderSVG(uri) };
  }

  /** Confirms enrolment with a first code; returns the recovery codes (shown once, kept as hashes). */
  async confirm(a: AccountRecord, code: string, by?: Actor): Promise<string[]> {
    const m = await this.store.findMfa(a.id);
    if (!m || m.enabledAt)
      throw new LanternError('LNT_CONFLICT', 'no enrolment is pending (start one first)');
    const step = this.step(a.login, m.secret, code);
    if (step === undefined) throw new LanternError('LNT_MFA_FAILED', 'the code is wrong or too old');
    const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
    if (
      !(await this.store.enableMfa(
        a.id,
        isoAfter(this.clock),
        step,
        codes.map((c) => sha256(c)),
      ))
    )
      throw new LanternError('LNT_CONFLICT', 'no enrolment is pending (start one first)');
    await this.events.accountEvent(by, a.login, 'second factor (TOTP) enrolled');
    return codes;
  }

  /**
   * Checks the second factor at login: a current TOTP code not used before, or an unused recovery code
   * (then spent). False when wrong or replayed.
   */
  async check(a: AccountRecord, code: string): Promise<'totp' | 'recovery' | false> {
    const m = await this.store.findMfa(a.id);
    if (!m?.enabledAt || code.length > 64) return false;
    const c = normal(code);
    if (/^\d{6}$/.test(c)) {
      const step = this.step(a.login, m.secret, c);
      return step !== undefined && (await this.store.takeMfaStep(a.id, step)) ? 'totp' : false;
    }
    if (await this.store.takeRecoveryCode(a.id, sha256(c))) {
      await this.events.accountEvent(undefined, a.login, 'a recovery code was used to log in', false);
      return 'recovery';
    }
    return false;
  }

  /** Removes the second factor (a lost phone): the account enrols again at its next login. */
  async reset(a: AccountRecord, by?: Actor): Promise<boolean> {
    const done = await this.store.deleteMfa(a.id);
    if (done) await this.events.accountEvent(by, a.login, 'second factor reset');
    return done;
  }

  /** How many recovery codes are left. */
  async recoveryLeft(a: AccountRecord): Promise<number> {
    return (await this.store.findMfa(a.id))?.recovery.length ?? 0;
  }

  /** The time step a code belongs to (now, or one step either side), or undefined. */
  private step(login: string, base32: string, code: string): number | undefined {
    const now = this.clock.now().getTime();
    const delta = totp(login, base32).validate({ token: normal(code), timestamp: now, window: 1 });
    return delta === null ? undefined : Math.floor(now / 1000 / PERIOD) + delta;
  }
}
