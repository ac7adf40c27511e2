/** The shortest password accepted (long passphrases are welcome: nothing is truncated). */
export const MIN_PASSWORD_LENGTH = 12;
/** A bound on what is hashed, so that a huge body cannot be made to cost seconds of CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

/** The lowest strength score (zxcvbn's 0–4, 3: "safely unguessable", about 10^8 guesses and more) accepted. */
export const MIN_PASSWORD_SCORE = 3;

/** A strength estimate: zxcvbn's score (0–4) and its warning, with the words the password must not lean on. */
export type PasswordStrength = (
  password: string,
  userInputs: readonly string[],
) => { readonly score: number; readonly warning?: string | null };

/** What new passwords are checked against: the common passwords (lower case) and a strength estimate. */
export interface PasswordRules {
  readonly common: ReadonlySet<string>;
  readonly strength?: PasswordStrength;
}

/**
 * Why a new password is refused, or undefined when it is acceptable: too short or too long, the login inside
 * it, a single repeated character, one of the common passwords, or a strength score below
 * MIN_PASSWORD_SCORE (sequences, repeats, keyboard walks, dictionary words with substitutions; the estimate
 * judges the first 64 characters).
 */
export function passwordProblem(password: string, login: string, rules: PasswordRules): string | undefined {
  const { common } = rules;
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `a password has at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (login.length >= 3 && lower.includes(login.toLowerCase())) return 'a password may not contain the login';
  if (new Set(lower).size <= 2) return 'a password may not be one or two repeated characters';
  if (common.has(lower) || common.has(lower.replace(/[\d\W_]+$/u, ''))) {
    return 'this password is on the list of common passwords';
  }
  const estimate = rules.strength?.(password, [login, 'lantern', 'pacs']);
  if (estimate && estimate.score < MIN_PASSWORD_SCORE) {
    const why = estimate.warning ? ` (${estimate.warning.replace(/\.$/, '')})` : '';
    return `this password is too easy to guess${why}: a longer passphrase of unrelated words is better`;
  }
  return undefined;
}
