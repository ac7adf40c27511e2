import { describe, expect, it } from 'vitest';
import { DurabilityWindow } from './ingest-window.js';

describe('DurabilityWindow', () => {
  it('confirms up to the row below the first one still under way, and everything once all settle', () => {
    const w = new DurabilityWindow({ instance: 10, quarantine: 3 });
    expect(w.confirmed()).toEqual({ instance: 10, quarantine: 3 });
    const a = w.open();
    const b = w.open();
    w.allocated(a, 'instance', 11);
    w.allocated(b, 'instance', 12);
    // b is durable first: a (row 11) still holds the confirmed id at 10.
    w.settled(b);
    expect(w.confirmed()).toEqual({ instance: 10, quarantine: 3 });
    w.settled(a);
    expect(w.confirmed()).toEqual({ instance: 12, quarantine: 3 });
    expect(w.size).toBe(0);
  });

  it('an object without a row yet holds both kinds at what was known when it opened', () => {
    const w = new DurabilityWindow({ instance: 5, quarantine: 5 });
    const early = w.open(); // no id yet: it can only get one above 5
    const q = w.open();
    w.allocated(q, 'quarantine', 6);
    w.settled(q);
    expect(w.confirmed()).toEqual({ instance: 5, quarantine: 5 });
    w.allocated(early, 'instance', 9); // ids 6..8 went to other processes
    expect(w.confirmed()).toEqual({ instance: 8, quarantine: 6 });
    w.settled(early);
    expect(w.confirmed()).toEqual({ instance: 9, quarantine: 6 });
  });

  it('a row retried under a new id (a serialization retry) is held by the new id', () => {
    const w = new DurabilityWindow({ instance: 0, quarantine: 0 });
    const a = w.open();
    w.allocated(a, 'instance', 3);
    w.allocated(a, 'instance', 7);
    expect(w.confirmed().instance).toBe(6);
  });
});
