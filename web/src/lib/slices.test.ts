import { describe, expect, it } from 'vitest';
import { followPoint, nearestIndex } from './slices.js';

describe('synchronised scrolling', () => {
  const stack = Array.from({ length: 10 }, (_, i) => [0, 0, i * 2.5] as const);

  it('finds the slice nearest to a point, skipping images without a position', () => {
    expect(nearestIndex(stack, [0, 0, 5.1])).toBe(2);
    expect(nearestIndex(stack, [0, 0, -40])).toBe(0);
    expect(nearestIndex(stack, [0, 0, 400])).toBe(9);
    expect(nearestIndex([undefined, [0, 0, 3]], [0, 0, 0])).toBe(1);
    expect(nearestIndex([], [0, 0, 0])).toBe(-1);
  });

  it('keeps the offset between two studies fixed at the moment they were linked', () => {
    // The prior was 10 mm lower on the table: slice 4 of the current study is slice 0 of the prior's.
    const prior = stack.map(([x, y, z]) => [x, y, z - 10] as const);
    const target = followPoint([0, 0, 15], [0, 0, 10], prior[0]);
    expect(nearestIndex(prior, target)).toBe(2);
    expect(followPoint([1, 2, 3], [1, 2, 3], [4, 5, 6])).toEqual([4, 5, 6]);
  });
});
