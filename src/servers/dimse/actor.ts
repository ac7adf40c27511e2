import { type Actor, aeActor } from '../../core/security/actor.js';
import type { Permission } from '../../core/security/roles.js';
import type { Party } from '../../services/clinical-audit.js';
import type { AssociationInfo } from '../../net/dimse/association.js';

/**
 * The actor of a DICOM operation: the calling AE with what the registry granted it for this service, narrowed
 * to the proved user's permissions when the association carried a user identity.
 */
export function peerActor(assoc: AssociationInfo, granted: readonly Permission[]): Actor {
  const user = assoc.user;
  const permissions = user ? granted.filter((p) => user.permissions.has(p)) : granted;
  return aeActor(user ? `${user.login}@${assoc.callingAeTitle}` : assoc.callingAeTitle, permissions);
}

/** The calling peer as the audit trail names it: its AE title, address and proved account. */
export function peerParty(assoc: Pick<AssociationInfo, 'callingAeTitle' | 'remoteAddress' | 'user'>): Party {
  return {
    kind: 'peer',
    aeTitle: assoc.callingAeTitle,
    address: assoc.remoteAddress,
    ...(assoc.user ? { login: assoc.user.login } : {}),
  };
}
