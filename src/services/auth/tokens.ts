import { LanternError } from '../../core/errors.js';
import { type Actor, actorName } from '../../core/security/actor.js';
import type { AccountRecord, AccountStore, TokenRecord } from '../../ports/accounts.js';
import type { Clock } from '../../ports/clock.js';
import { type AccountService, userActor } from './accounts.js';
import type { AuthEvents } from './auth-events.js';
import type { Credentials } from './credentials.js';
import { isoAfter, secret, sha256 } from './secrets.js';

export const TOKEN_PREFIX = 'lnt_';
const DAY_MS = 86_400_000;

/** Who asks for a token and how they proved it: a person confirms their password in a signed-in session. */
export interface TokenRequest {
  readonly name?: string;
  /** Its life in days: at most `tokenMaxDays`, which is also the default. */
  readonly expiresInDays?: number;
  /** The owner's password, confirmed again (a person's own token only), and where they are. */
  readonly reauth?: { readonly password: string; readonly address: string };
}

/**
 * API tokens: bearer secrets for machines and scripts, each acting as an account; only hashes are kept.
 * A person makes their own tokens, in a signed-in session, confirming their password; tokens for another
 * account are made only for service accounts (by an administrator, or the command line on the server), so
 * that no one can act as a person with a token that person did not make. Every token ends within
 * `tokenMaxDays`.
 */
export class TokenService {
  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly accounts: AccountService,
    private readonly credentials: Credentials,
    private readonly events: AuthEvents,
    private readonly maxDays: number,
  ) {}

  /** A new API token for an account, shown once (only its hash is kept). */
  async createToken(
    login: string,
    options: TokenRequest = {},
    by?: Actor,
  ): Promise<{ token: string; record: TokenRecord }> {
    const a = await this.accounts.account(login);
    await this.mayCreate(a, options, by);
    const days = options.expiresInDays ?? this.maxDays;
    if (!Number.isInteger(days) || days < 1 || days > this.maxDays) {
      throw new LanternError(
        'LNT_HTTP_BAD_REQUEST',
        `a token lives 1 to ${this.maxDays} days (security.tokenMaxDays)`,
      );
    }
    const token = TOKEN_PREFIX + secret(32);
    const expiresAt = isoAfter(this.clock, days * DAY_MS);
    const rec = {
      tokenHash: sha256(token),
      accountId: a.id,
      name: (options.name ?? '').slice(0, 128),
      createdAt: isoAfter(this.clock),
      expiresAt,
      revokedAt: undefined,
      lastUsedAt: undefined,
      createdBy: actorName(by),
    };
    const id = await this.store.insertToken(rec);
    await this.events.accountEvent(by, login, `API token ${id} created, expires ${expiresAt}`);
    return { token, record: { ...rec, id } };
  }

  /** Refuses a token that would let someone act as a person without that person's own confirmation. */
  private async mayCreate(a: AccountRecord, options: TokenRequest, by: Actor | undefined): Promise<void> {
    const own = by?.kind === 'user' && by.accountId === a.id;
    if (!own) {
      if (a.kind !== 'service') {
        throw new LanternError(
          'LNT_FORBIDDEN',
          `${a.login} is a person's account: only its owner makes its tokens, signed in; tokens for others are made for service accounts`,
        );
      }
      // The command line on the server (no actor) may; anyone else makes a service's token as they would
      // their own: signed in, confirming their password (a stolen token or session cannot mint one).
      if (by) await this.reauthenticated(by, options);
      return;
    }
    if (a.kind === 'service') throw new LanternError('LNT_FORBIDDEN', 'a service account does not sign in');
    await this.reauthenticated(by, options);
  }

  /** A person signed in (a session, not a token) who confirmed their password again just now. */
  private async reauthenticated(by: Actor, options: TokenRequest): Promise<void> {
    if (by.kind !== 'user' || by.via !== 'session') {
      throw new LanternError(
        'LNT_FORBIDDEN',
        'a token is made in a signed-in session, with the password confirmed, not with another token',
      );
    }
    if (!options.reauth?.password) {
      throw new LanternError('LNT_REAUTH_FAILED', 'confirm your password to make a token (password)');
    }
    try {
      // Through the login throttle: guesses here count as failed logins.
      await this.credentials.check(by.login, options.reauth.password, options.reauth.address);
    } catch (e) {
      if (e instanceof LanternError && e.code === 'LNT_AUTH_FAILED') {
        throw new LanternError('LNT_REAUTH_FAILED', 'the password is wrong; no token was made');
      }
      throw e;
    }
  }

  /**
   * The actor of a bearer API token, when it is valid: not revoked, not past its end nor past `tokenMaxDays`
   * from its making, its account enabled. A person whose password was set by someone else is refused until
   * they change it (LNT_PASSWORD_CHANGE_REQUIRED).
   */
  async token(token: string): Promise<Actor | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return undefined;
    const t = await this.store.findToken(sha256(token));
    const now = this.clock.now().getTime();
    if (!t || t.revokedAt || now >= this.endOf(t)) return undefined;
    const a = await this.store.findAccountById(t.accountId);
    if (!a || !a.enabled) return undefined;
    if (a.kind === 'person' && a.mustChange) {
      throw new LanternError(
        'LNT_PASSWORD_CHANGE_REQUIRED',
        `the account's one-time password must be changed (signed in) before its tokens work`,
      );
    }
    if (!t.lastUsedAt || now - Date.parse(t.lastUsedAt) > 60_000)
      await this.store.touchToken(t.id, isoAfter(this.clock));
    return userActor(a, 'token', { credential: `token ${t.id}`, issuedBy: t.createdBy || undefined });
  }

  /** When a token ends: its own end, or `tokenMaxDays` after it was made if that is sooner. */
  endOf(t: TokenRecord): number {
    const limit = Date.parse(t.createdAt) + this.maxDays * DAY_MS;
    return t.expiresAt ? Math.min(Date.parse(t.expiresAt), limit) : limit;
  }

  tokensOf(accountId: number): Promise<TokenRecord[]> {
    return this.store.listTokens(accountId);
  }

  async revokeToken(accountId: number, id: number, by?: Actor): Promise<boolean> {
    const revoked = await this.store.revokeToken(accountId, id, isoAfter(this.clock));
    const a = revoked ? await this.store.findAccountById(accountId) : undefined;
    if (a) await this.events.accountEvent(by, a.login, `API token ${id} revoked`);
    return revoked;
  }
}
