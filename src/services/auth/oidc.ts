import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Actor } from '../../core/security/actor.js';
import { isRole, permissionsOf } from '../../core/security/roles.js';
import type { Clock } from '../../ports/clock.js';
import type { AuthSettings } from './settings.js';

export interface OidcSettings {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly rolesClaim: string;
  readonly loginClaim: string;
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

/** Bearer JWTs from an OpenID Connect provider, checked against its published key set. */
export class OidcVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    private readonly settings: AuthSettings,
    private readonly clock: Clock,
  ) {}

  /** Whether bearer JWTs from an OpenID Connect provider are accepted. */
  get enabled(): boolean {
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
  async token(jwt: string): Promise<Actor | undefined> {
    const o = this.settings.oidc;
    if (!o?.issuer || jwt.length > 16384) return undefined;
    try {
      const { payload } = await jwtVerify(jwt, await this.keySet(), {
        issuer: o.issuer,
        audience: o.audience,
        algorithms: JWT_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: this.clock.now(),
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
}
