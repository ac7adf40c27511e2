/** The shortest password accepted (long passphrases are welcome: nothing is truncated). */
export const MIN_PASSWORD_LENGTH = 12;
/** A bound on what is hashed, so that a huge body cannot be made to cost seconds of CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Why a new password is refused, or undefined when it is acceptable: too short or too long, the login inside
 * it, a single repeated character, or one of the common passwords (`common` holds them in lower case).
 */
export function passwordProblem(
  password: string,
  login: string,
  common: ReadonlySet<string>,
): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `a password has at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (login.length >= 3 && lower.includes(login.toLowerCase())) return 'a password may not contain the login';
  if (new Set(lower).size <= 2) return 'a password may not be one or two repeated characters';
  if (common.has(lower) || common.has(lower.replace(/[\d\W_]+$/u, ''))) {
    return 'this password is on the list of common passwords';
  }
  return undefined;
}
