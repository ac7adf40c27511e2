import { describe, expect, it } from 'vitest';
import { dragWindow, initialWindow, presetsFor, rangeToWindow, rescale, windowToRange } from './voi.js';

describe('window/level (PS3.3 C.11.2.1.2)', () => {
  it('maps centre and width to the linear function range, and back', () => {
    // The standard's own example: c = 2048, w = 4096 shows 0 .. 4095.
    expect(windowToRange({ center: 2048, width: 4096 })).toEqual({ lower: 0, upper: 4095 });
    expect(windowToRange({ center: 40, width: 400 })).toEqual({ lower: -160, upper: 239 });
    for (const w of [
      { center: -600, width: 1500 },
      { center: 0.5, width: 1 },
      { center: 1000, width: 3 },
    ]) {
      expect(rangeToWindow(windowToRange(w))).toEqual(w);
    }
  });

  it('never lets the width fall below one', () => {
    expect(windowToRange({ center: 10, width: 0 })).toEqual(windowToRange({ center: 10, width: 1 }));
    expect(dragWindow({ center: 10, width: 2 }, -5000, 0, 4096).width).toBe(1);
  });

  it('drags in steps proportional to the data range', () => {
    const ct = dragWindow({ center: 40, width: 400 }, 100, 50, 4096);
    expect(ct.width).toBeCloseTo(800);
    expect(ct.center).toBeCloseTo(240);
    const sc = dragWindow({ center: 128, width: 256 }, 100, 0, 256);
    expect(sc.width).toBeCloseTo(281);
  });

  it('opens on the first stored window, else the full range of values', () => {
    expect(initialWindow([40, 300], [400, 2000], -1024, 3000)).toEqual({ center: 40, width: 400 });
    expect(initialWindow(undefined, undefined, 0, 255)).toEqual({ center: 128, width: 256 });
    expect(initialWindow([40], [0], 0, 255)).toEqual({ center: 128, width: 256 });
  });

  it('offers the CT presets a reader expects, and none for other modalities', () => {
    const names = presetsFor('CT').map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['Lung', 'Mediastinum', 'Bone', 'Brain']));
    expect(presetsFor('CT').find((p) => p.name === 'Lung')).toMatchObject({ center: -600, width: 1500 });
    expect(new Set(presetsFor('CT').map((p) => p.key)).size).toBe(presetsFor('CT').length);
    expect(presetsFor('US')).toEqual([]);
    expect(presetsFor(undefined)).toEqual([]);
  });

  it('applies the modality LUT', () => {
    expect(rescale(1024, 1, -1024)).toBe(0);
    expect(rescale(100, 2.5, 10)).toBe(260);
    expect(rescale(7)).toBe(7);
  });
});
