import type { OidcSettings } from './oidc.js';

export interface AuthSettings {
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  /** Failed logins for one login name within the window before it is locked. */
  readonly lockoutThreshold: number;
  readonly lockoutMinutes: number;
  /** Failed logins from one address within the window before it is throttled. */
  readonly addressThreshold: number;
  /** The longest life of an API token, in days; tokens made before a lower limit end at it too. */
  readonly tokenMaxDays: number;
  /** Roles whose people must log in with a second factor (TOTP). */
  readonly mfaRoles?: readonly string[];
  readonly oidc?: OidcSettings;
}
