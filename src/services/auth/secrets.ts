import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../ports/clock.js';

/** The hex SHA-256 of a secret: what is stored of session secrets and API tokens. */
export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A random secret of `bytes` bytes, base64url. */
export const secret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** argon2id, OWASP's parameters (19 MiB, 2 passes). */
export const ARGON = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** The clock's time `offsetMs` from now, as ISO 8601. */
export function isoAfter(clock: Clock, offsetMs = 0): string {
  return new Date(clock.now().getTime() + offsetMs).toISOString();
}
