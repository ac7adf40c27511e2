import { LanternError } from '../../core/errors.js';
import { type Permission, permissionsOf } from '../../core/security/roles.js';
import type { AccountRecord } from '../../ports/accounts.js';
import type { AuthEvents } from './auth-events.js';
import type { Credentials } from './credentials.js';

/**
 * A DICOM association's user identity (PS3.7 D.3.3.7, username and passcode) checked against the accounts,
 * with the same throttling as logins. An account whose one-time password is not yet changed is refused, and
 * so is one whose role logs in with a second factor (`refuse`): a passcode alone would bypass it.
 */
export async function verifyPeerUser(
  credentials: Credentials,
  events: AuthEvents,
  login: string,
  passcode: string,
  address: string,
  refuse: (a: AccountRecord) => boolean = () => false,
): Promise<{ login: string; permissions: ReadonlySet<Permission> } | undefined> {
  try {
    const a = await credentials.check(login, passcode, address);
    if (a.mustChange || refuse(a)) return undefined;
    await events.authEvent('login', a.login, address, 0, 'DICOM association user identity');
    return { login: a.login, permissions: permissionsOf(a.roles) };
  } catch (e) {
    if (e instanceof LanternError) return undefined;
    throw e;
  }
}
