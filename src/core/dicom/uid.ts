/**
 * A UID from a UUID (PS3.5 B.2): `2.25.` and the UUID's 128 bits as one decimal integer, at most 44
 * characters in all.
 */
export function uidFromUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: ${uuid}`);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}
