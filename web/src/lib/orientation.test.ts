import { describe, expect, it } from 'vitest';
import {
  directionLabel,
  fromImageOrientation,
  fromPatientOrientation,
  markersFor,
  transformed,
} from './orientation.js';

describe('orientation markers (PS3.3 C.7.6.2.1.1)', () => {
  const axial = fromImageOrientation([1, 0, 0, 0, 1, 0])!;

  it('labels a standard axial image: patient left on the screen right, anterior at the top', () => {
    expect(markersFor(axial.right, axial.down)).toEqual({ right: 'L', left: 'R', top: 'A', bottom: 'P' });
  });

  it('labels coronal and sagittal images', () => {
    const coronal = fromImageOrientation([1, 0, 0, 0, 0, -1])!;
    expect(markersFor(coronal.right, coronal.down)).toEqual({ right: 'L', left: 'R', top: 'H', bottom: 'F' });
    const sagittal = fromImageOrientation([0, 1, 0, 0, 0, -1])!;
    expect(markersFor(sagittal.right, sagittal.down)).toEqual({
      right: 'P',
      left: 'A',
      top: 'H',
      bottom: 'F',
    });
  });

  it('names oblique directions by their strongest axes first', () => {
    const s = Math.SQRT1_2;
    expect(directionLabel([s, s, 0])).toMatch(/^(LP|PL)$/);
    expect(directionLabel([0.9, 0.1, -0.42])).toBe('LF');
    expect(directionLabel([0.99, 0.1, 0.05])).toBe('L');
  });

  it('follows the viewer transforms: rotation, then flips', () => {
    const quarter = transformed(axial.right, axial.down, 90, false, false);
    // Turned clockwise, anterior (was at the top) is now on the right.
    expect(markersFor(quarter.right, quarter.down)).toEqual({ right: 'A', left: 'P', top: 'R', bottom: 'L' });
    const flipped = transformed(axial.right, axial.down, 0, true, false);
    expect(markersFor(flipped.right, flipped.down)).toMatchObject({ right: 'R', left: 'L', top: 'A' });
    const half = transformed(axial.right, axial.down, -180, false, true);
    expect(markersFor(half.right, half.down)).toMatchObject({ right: 'R', top: 'A' });
  });

  it('rejects malformed orientations and reads Patient Orientation of projection images', () => {
    expect(fromImageOrientation([1, 0, 0])).toBeUndefined();
    expect(fromImageOrientation([1, 0, 0, 0, Number.NaN, 0])).toBeUndefined();
    expect(fromPatientOrientation(['A', 'F'])).toEqual({ right: 'A', left: 'P', bottom: 'F', top: 'H' });
    expect(fromPatientOrientation(['L'])).toBeUndefined();
  });
});
