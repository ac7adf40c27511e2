/**
 * A UID from a UUID (PS3.5 B.2): `2.25.` and the UUID's 128 bits as one decimal integer, at most 44
 * characters in all.
 */
export function uidFromUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: ${uuid}`);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

const UID_FORM = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

/** Whether `s` is a UID as PS3.5 9.1 has it: dot-separated numbers without leading zeros, 1 to 64 characters. */
export function isUid(s: string): boolean {
  return s.length > 0 && s.length <= 64 && UID_FORM.test(s);
}
