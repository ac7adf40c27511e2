/** How long to wait before retrying a failed job: exponential growth, capped, with jitter. */
export interface BackoffPolicy {
  /** The delay after the first failure, before jitter (ms). */
  readonly baseMs: number;
  /** No delay is longer than this (ms). */
  readonly maxMs: number;
  /** Growth per further failure; 2 doubles the delay. */
  readonly factor: number;
  /**
   * The share of the delay taken off at random, from 0 (none) to 1 (anything from 0 up to the delay), so
   * that jobs failing together (a destination down) do not all come back at the same moment.
   */
  readonly jitter: number;
}

/** 10 s, 20 s, 40 s, ... up to an hour, each up to a half shorter at random. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 10_000, maxMs: 3_600_000, factor: 2, jitter: 0.5 };

/**
 * The delay (whole ms) before the attempt that follows `failures` failed ones (1 after the first failure).
 * `random` is a number in [0, 1), e.g. Math.random(): passed in, so the result depends on the arguments only.
 */
export function backoffDelay(
  failures: number,
  random: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  if (!Number.isInteger(failures) || failures < 1)
    throw new RangeError(`failures must be 1 or more: ${failures}`);
  if (!(random >= 0 && random < 1)) throw new RangeError(`random must be in [0, 1): ${random}`);
  const { baseMs, maxMs, factor, jitter } = policy;
  if (!(baseMs >= 0 && maxMs >= baseMs && factor >= 1 && jitter >= 0 && jitter <= 1))
    throw new RangeError('backoff policy out of range');
  // Grows until the cap and no further (factor ** failures alone would overflow on a long run of failures).
  let delay = baseMs;
  for (let n = 1; n < failures && delay > 0 && delay < maxMs && factor > 1; n++) delay *= factor;
  return Math.round(Math.min(maxMs, delay) * (1 - jitter * random));
}
