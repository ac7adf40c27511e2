import { describe, expect, it } from 'vitest';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.js';

const noJitter: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, factor: 2, jitter: 0 };

describe('backoffDelay', () => {
  it('grows exponentially from the base delay', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 0, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
  });

  it('is capped, however many failures', () => {
    expect(backoffDelay(7, 0, noJitter)).toBe(60_000);
    expect(backoffDelay(1000, 0, noJitter)).toBe(60_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, 0.5, DEFAULT_BACKOFF)).toBe(DEFAULT_BACKOFF.maxMs * 0.75);
  });

  it('takes up to the jitter share off at random, never more, never adding', () => {
    const p: BackoffPolicy = { ...noJitter, jitter: 0.5 };
    expect(backoffDelay(3, 0, p)).toBe(4000);
    expect(backoffDelay(3, 0.5, p)).toBe(3000);
    expect(backoffDelay(3, 0.999_999, p)).toBe(2000);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(1 + (i % 12), Math.random(), DEFAULT_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.baseMs / 2);
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
    }
  });

  it('depends on its arguments only', () => {
    expect(backoffDelay(4, 0.25)).toBe(backoffDelay(4, 0.25));
    expect(backoffDelay(1, 0)).toBe(10_000);
  });

  it('holds with a factor of 1 (a fixed delay) and a base of 0', () => {
    expect(backoffDelay(9, 0, { ...noJitter, factor: 1 })).toBe(1000);
    expect(backoffDelay(9, 0, { ...noJitter, baseMs: 0 })).toBe(0);
  });

  it('refuses arguments out of range', () => {
    expect(() => backoffDelay(0, 0)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, 0)).toThrow(RangeError);
    expect(() => backoffDelay(1, 1)).toThrow(RangeError);
    expect(() => backoffDelay(1, Number.NaN)).toThrow(RangeError);
    expect(() => backoffDelay(1, 0, { ...noJitter, jitter: 2 })).toThrow(RangeError);
    expect(() => backoffDelay(1, 0, { ...noJitter, maxMs: 10 })).toThrow(RangeError);
  });
});
