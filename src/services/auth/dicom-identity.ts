import { LanternError } from '../../core/errors.js';
import { type Permission, permissionsOf } from '../../core/security/roles.js';
import type { AuthEvents } from './auth-events.js';
import type { Credentials } from './credentials.js';

/**
 * A DICOM association's user identity (PS3.7 D.3.3.7, username and passcode) checked against the accounts,
 * with the same throttling as logins. An account whose one-time password is not yet changed is refused.
 */
export async function verifyPeerUser(
  credentials: Credentials,
  events: AuthEvents,
  login: string,
  passcode: string,
  address: string,
): Promise<{ login: string; permissions: ReadonlySet<Permission> } | undefined> {
  try {
    const a = await credentials.check(login, passcode, address);
    if (a.mustChange) return undefined;
    await events.authEvent('login', a.login, address, 0, 'DICOM association user identity');
    return { login: a.login, permissions: permissionsOf(a.roles) };
  } catch (e) {
    if (e instanceof LanternError) return undefined;
    throw e;
  }
}
