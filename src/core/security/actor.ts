import { LanternError } from '../errors.js';
import type { Permission } from './roles.js';

/** Who is acting: a person or service by account, a DICOM peer by AE title, or Lantern itself (CLI, jobs). */
export type Actor =
  | {
      readonly kind: 'user';
      readonly login: string;
      readonly accountId: number;
      readonly roles: readonly string[];
      readonly permissions: ReadonlySet<Permission>;
      /** How the request proved who it is. */
      readonly via: 'session' | 'token' | 'oidc';
      /**
       * The credential, as the audit trail names it: `session <first 16 hex of its hash>`, `token <id>`
       * (never a secret).
       */
      readonly credential?: string;
      /** Who made the token, when it was not the account itself (a service account's administrator). */
      readonly issuedBy?: string;
    }
  | { readonly kind: 'ae'; readonly aeTitle: string; readonly permissions: ReadonlySet<Permission> }
  | { readonly kind: 'system' };

/** Lantern itself: the command line on the server, jobs, and HTTP when authentication is switched off. */
export const SYSTEM: Actor = { kind: 'system' };

/** A DICOM peer with what the AE registry granted it. */
export function aeActor(aeTitle: string, permissions: readonly Permission[]): Actor {
  return { kind: 'ae', aeTitle, permissions: new Set(permissions) };
}

/** Refuses an actor without the permission (403 / 0124H); the system actor may do anything. */
export function requirePermission(actor: Actor | undefined, permission: Permission): void {
  const a = actor ?? SYSTEM;
  if (a.kind === 'system') return;
  if (!a.permissions.has(permission)) {
    throw new LanternError('LNT_FORBIDDEN', `this operation needs the ${permission} permission`);
  }
}

/** A name for the actor in records (the account's login, the AE title, or "lantern"). */
export function actorName(actor: Actor | undefined): string {
  if (!actor || actor.kind === 'system') return 'lantern';
  return actor.kind === 'user' ? actor.login : actor.aeTitle;
}
