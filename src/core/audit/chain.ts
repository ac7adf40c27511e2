import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: one text for one value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The genesis value the first record chains to. */
export const GENESIS = '0'.repeat(64);

/** A record's hash: SHA-256 over its predecessor's hash, its number and its canonical text. */
export function chainHash(prevHash: string, id: number, canonical: string): string {
  return createHash('sha256').update(`${prevHash}\n${id}\n${canonical}`).digest('hex');
}
