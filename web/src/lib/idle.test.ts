import { describe, expect, it } from 'vitest';
import { formatRemaining, idleRemaining, returnPath } from './idle.js';

describe('idle timeout', () => {
  const now = Date.now();
  it('counts down from the last activity and stops at zero', () => {
    expect(idleRemaining(now, 30, now)).toBe(30 * 60_000);
    expect(idleRemaining(now - 10 * 60_000, 30, now)).toBe(20 * 60_000);
    expect(idleRemaining(now - 31 * 60_000, 30, now)).toBe(0);
  });
  it('formats what is left', () => {
    expect(formatRemaining(245_000)).toBe('4:05');
    expect(formatRemaining(999)).toBe('0:01');
    expect(formatRemaining(0)).toBe('0:00');
    expect(formatRemaining(3_723_000)).toBe('1:02:03');
  });
  it('comes back only to a page of this origin', () => {
    expect(returnPath('/viewer/1.2.3', '?series=4')).toBe('/viewer/1.2.3?series=4');
    expect(returnPath('//evil.example', '')).toBe('/');
    expect(returnPath('/login', '?next=/x')).toBe('/');
  });
});
