import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoalescedSync, fsyncPath } from './index.js';

describe('CoalescedSync', () => {
  it('answers each caller with a run that started after it asked, sharing runs among waiting callers', async () => {
    const starts: number[] = [];
    let release: () => void = () => undefined;
    let clock = 0;
    const sync = new CoalescedSync(
      () =>
        new Promise<void>((r) => {
          starts.push(clock);
          release = r;
        }),
    );
    clock = 1;
    const a = sync.request(); // starts run 1
    clock = 2;
    const b = sync.request(); // arrives during run 1: waits for run 2
    const c = sync.request(); // shares run 2
    let bDone = false;
    void b.then(() => (bDone = true));
    release(); // run 1 ends
    await a;
    await new Promise((r) => setImmediate(r));
    expect(bDone).toBe(false);
    expect(starts).toEqual([1, 2]);
    release(); // run 2 ends
    await Promise.all([b, c]);
    expect(starts).toHaveLength(2);
  });

  it('a failed run fails its callers and does not stop later runs', async () => {
    let fail = true;
    const sync = new CoalescedSync(async () => {
      if (fail) throw new Error('disk');
    });
    await expect(sync.request()).rejects.toThrow('disk');
    fail = false;
    await expect(sync.request()).resolves.toBeUndefined();
  });

  it('fsyncPath syncs files and folders, and reports a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lantern-sync-'));
    writeFileSync(join(dir, 'f'), 'x');
    await fsyncPath(join(dir, 'f'));
    await fsyncPath(dir);
    await expect(fsyncPath(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    rmSync(dir, { recursive: true });
  });
});
