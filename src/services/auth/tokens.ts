import type { Actor } from '../../core/security/actor.js';
import type { AccountStore, TokenRecord } from '../../ports/accounts.js';
import type { Clock } from '../../ports/clock.js';
import { type AccountService, userActor } from './accounts.js';
import type { AuthEvents } from './auth-events.js';
import { isoAfter, secret, sha256 } from './secrets.js';

export const TOKEN_PREFIX = 'lnt_';

/** API tokens: bearer secrets for machines and scripts, each acting as an account; only hashes are kept. */
export class TokenService {
  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    private readonly accounts: AccountService,
    private readonly events: AuthEvents,
  ) {}

  /** A new API token for an account, shown once (only its hash is kept). */
  async createToken(
    login: string,
    options: { name?: string; expiresInDays?: number } = {},
    by?: Actor,
  ): Promise<{ token: string; record: TokenRecord }> {
    const a = await this.accounts.account(login);
    const token = TOKEN_PREFIX + secret(32);
    const expiresAt = options.expiresInDays
      ? isoAfter(this.clock, options.expiresInDays * 86_400_000)
      : undefined;
    const rec = {
      tokenHash: sha256(token),
      accountId: a.id,
      name: options.name ?? '',
      createdAt: isoAfter(this.clock),
      expiresAt,
      revokedAt: undefined,
      lastUsedAt: undefined,
    };
    const id = await this.store.insertToken(rec);
    await this.events.accountEvent(
      by,
      login,
      `API token ${id} created${expiresAt ? `, expires ${expiresAt}` : ''}`,
    );
    return { token, record: { ...rec, id } };
  }

  /** The actor of a bearer API token, when it is valid (not revoked, not expired, its account enabled). */
  async token(token: string): Promise<Actor | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return undefined;
    const t = await this.store.findToken(sha256(token));
    if (!t || t.revokedAt || (t.expiresAt && Date.parse(t.expiresAt) <= this.clock.now().getTime()))
      return undefined;
    const a = await this.store.findAccountById(t.accountId);
    if (!a || !a.enabled) return undefined;
    if (!t.lastUsedAt || this.clock.now().getTime() - Date.parse(t.lastUsedAt) > 60_000)
      await this.store.touchToken(t.id, isoAfter(this.clock));
    return userActor(a, 'token');
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
