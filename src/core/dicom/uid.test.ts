import { describe, expect, it } from 'vitest';
import { uidFromUuid } from './uid.js';

describe('uidFromUuid', () => {
  it('writes the UUID as one integer under 2.25 (PS3.5 B.2)', () => {
    expect(uidFromUuid('00000000-0000-0000-0000-000000000001')).toBe('2.25.1');
    // The example of PS3.5 B.2.
    expect(uidFromUuid('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')).toBe(
      '2.25.329800735698586629295641978511506172918',
    );
    const biggest = uidFromUuid('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(biggest.length).toBeLessThanOrEqual(44);
    expect(biggest).toMatch(/^2\.25\.[1-9]\d*$/);
  });

  it('refuses what is not a UUID', () => {
    expect(() => uidFromUuid('not-a-uuid')).toThrow(RangeError);
  });
});
