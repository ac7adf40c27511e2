/**
 * Hong Kong Identity Card numbers: one or two letters, six digits and a check digit (0-9 or A), written with
 * the check digit in brackets (`A123456(3)`). Normalised before checking or comparing: upper case, no
 * spaces, no brackets. The check: a one-letter number is prefixed with a space worth 36, letters are worth
 * A=10 ... Z=35, the eight characters are multiplied by 9, 8, ..., 2 and summed; the check digit is
 * (11 - sum mod 11) mod 11, 10 written A.
 */

/** The number as compared and stored: `A1234563`, `AB9876540`. */
export function normalizeHkid(raw: string): string {
  return raw.toUpperCase().replace(/[\s()]/g, '');
}

export type HkidCheck =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

/** Whether `raw` is a well-formed HKID number whose check digit holds; the normalised number when it is. */
export function checkHkid(raw: string): HkidCheck {
  const value = normalizeHkid(raw);
  const m = /^([A-Z]{1,2})([0-9]{6})([0-9A])$/.exec(value);
  if (!m) {
    return {
      ok: false,
      reason:
        'an HKID number is one or two letters, six digits and a check digit (0-9 or A), e.g. A123456(3)',
    };
  }
  const [, letters, digits, check] = m;
  const worth = (c: string) => (c === ' ' ? 36 : c >= 'A' ? c.charCodeAt(0) - 55 : Number(c));
  const chars = (letters.length === 1 ? ' ' + letters : letters) + digits;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += worth(chars[i]) * (9 - i);
  const expected = (11 - (sum % 11)) % 11;
  const written = check === 'A' ? 10 : Number(check);
  if (written !== expected) {
    return {
      ok: false,
      reason: `the HKID number's check digit does not hold (${letters}${digits} has check digit ${expected === 10 ? 'A' : expected})`,
    };
  }
  return { ok: true, value };
}
