import type { Clock } from '../../src/ports/clock.js';

/**
 * A clock for tests that move time by hand: it starts from the real time and runs with it, and `advance`
 * adds to an offset. A CLI run by the test reads the real clock, which this one is never behind, so both
 * agree on what has expired whatever day the suite runs on (never start a test clock from a fixed date).
 */
export interface TestClock extends Clock {
  advance(minutes: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(minutes: number) {
      offset += minutes * 60_000;
    },
  };
}

/** A clock that stands still until moved (by milliseconds): leases and retry times without real waiting. */
export interface ManualClock extends Clock {
  advanceMs(ms: number): void;
}

/** Starts from the real time, like testClock, but never moves by itself. */
export function manualClock(): ManualClock {
  let t = Date.now();
  return {
    now: () => new Date(t),
    advanceMs(ms: number) {
      t += ms;
    },
  };
}
