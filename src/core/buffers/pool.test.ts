import { describe, expect, it } from 'vitest';
import { BufferPool } from './pool.js';

describe('BufferPool', () => {
  it('lends buffers of the size asked for and reuses one only after it is given back', () => {
    const pool = new BufferPool(1024, 2);
    const a = pool.take(100)!;
    const b = pool.take(1024)!;
    expect(a.length).toBe(100);
    expect(b.length).toBe(1024);
    expect(a.buffer).not.toBe(b.buffer);
    pool.give(a.subarray(10, 20));
    expect(pool.idle).toBe(1);
    const c = pool.take(50)!;
    expect(c.buffer).toBe(a.buffer);
    expect(pool.idle).toBe(0);
  });

  it('ignores what it did not lend and what is given back twice, and keeps at most maxFree', () => {
    const pool = new BufferPool(64, 1);
    pool.give(Buffer.alloc(64));
    expect(pool.idle).toBe(0);
    const a = pool.take(64)!;
    const b = pool.take(64)!;
    pool.give(a);
    pool.give(a);
    expect(pool.idle).toBe(1);
    pool.give(b);
    expect(pool.idle).toBe(1);
    // Once given back twice, a buffer could be lent to two readers at once; it is not.
    const c = pool.take(64)!;
    const d = pool.take(64)!;
    expect(c.buffer).not.toBe(d.buffer);
  });

  it('lends nothing larger than its buffers, or empty', () => {
    const pool = new BufferPool(64);
    expect(pool.take(65)).toBeUndefined();
    expect(pool.take(0)).toBeUndefined();
  });
});
