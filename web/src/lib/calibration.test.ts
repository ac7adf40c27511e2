import { describe, expect, it } from 'vitest';
import { angleOf, areaOf, calibrationOf, formatLength, lengthOf, statsOf } from './calibration.js';

describe('measurement calibration (PS3.3 10.7.1.3)', () => {
  it('measures cross-sectional images in the patient with Pixel Spacing (row spacing first)', () => {
    const c = calibrationOf({ pixelSpacing: [0.5, 0.25], projection: false });
    expect(c).toMatchObject({ kind: 'patient', unit: 'mm', caveat: '' });
    // 100 columns across at 0.25 mm, 100 rows down at 0.5 mm.
    expect(lengthOf(c, { x: 0, y: 0 }, { x: 100, y: 0 })).toBeCloseTo(25);
    expect(lengthOf(c, { x: 0, y: 0 }, { x: 0, y: 100 })).toBeCloseTo(50);
    expect(lengthOf(c, { x: 0, y: 0 }, { x: 120, y: 40 })).toBeCloseTo(Math.hypot(30, 20));
    expect(formatLength(c, 25)).toBe('25.0 mm');
  });

  it('says uncalibrated, in pixels, when no spacing is given or it is nonsense', () => {
    for (const a of [{}, { pixelSpacing: [0, 1] }, { pixelSpacing: [1] }, { imagerPixelSpacing: [-1, 1] }]) {
      const c = calibrationOf({ ...a, projection: false });
      expect(c).toMatchObject({ kind: 'uncalibrated', unit: 'px', caveat: 'uncalibrated' });
    }
    const c = calibrationOf({ projection: true });
    expect(formatLength(c, 140.4)).toBe('140 px (uncalibrated)');
  });

  it('measures projection radiographs at the detector with Imager Pixel Spacing, and says so', () => {
    const c = calibrationOf({ imagerPixelSpacing: [0.15, 0.15], projection: true });
    expect(c.kind).toBe('detector');
    expect(c.caveat).toMatch(/detector/);
    expect(lengthOf(c, { x: 0, y: 0 }, { x: 200, y: 0 })).toBeCloseTo(30);
  });

  it('corrects projection radiographs by the estimated magnification factor', () => {
    const c = calibrationOf({
      imagerPixelSpacing: [0.2, 0.2],
      estimatedRadiographicMagnificationFactor: 1.25,
      projection: true,
    });
    expect(c.kind).toBe('magnification');
    expect(lengthOf(c, { x: 0, y: 0 }, { x: 100, y: 0 })).toBeCloseTo(16);
  });

  it('trusts Pixel Spacing of a projection image only when it is calibrated, not a copy of the detector', () => {
    const copied = calibrationOf({
      pixelSpacing: [0.2, 0.2],
      imagerPixelSpacing: [0.2, 0.2],
      projection: true,
    });
    expect(copied.kind).toBe('detector');
    const calibrated = calibrationOf({
      pixelSpacing: [0.16, 0.16],
      imagerPixelSpacing: [0.2, 0.2],
      pixelSpacingCalibrationType: 'GEOMETRY',
      projection: true,
    });
    expect(calibrated).toMatchObject({
      kind: 'calibrated',
      rowSpacing: 0.16,
      caveat: 'calibrated to GEOMETRY',
    });
    const typed = calibrationOf({
      pixelSpacing: [0.2, 0.2],
      imagerPixelSpacing: [0.2, 0.2],
      pixelSpacingCalibrationType: 'FIDUCIAL',
      projection: true,
    });
    expect(typed.kind).toBe('calibrated');
  });

  it('computes areas and angles in patient geometry', () => {
    const c = calibrationOf({ pixelSpacing: [2, 1], projection: false });
    expect(areaOf(c, 'rectangle', { x: 10, y: 10 }, { x: 20, y: 15 })).toBeCloseTo(10 * 10);
    expect(areaOf(c, 'ellipse', { x: 0, y: 0 }, { x: 20, y: 10 })).toBeCloseTo((Math.PI * 20 * 20) / 4);
    // 45 degrees in pixels is not 45 degrees in the patient when rows are twice as far apart.
    expect(angleOf(c, { x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 })).toBeCloseTo(
      (Math.atan2(20, 10) * 180) / Math.PI,
    );
    expect(angleOf(c, { x: 0, y: 0 }, { x: 0, y: 0 }, { x: 1, y: 1 })).toBe(0);
  });

  it('reports mean and standard deviation of an ROI', () => {
    expect(statsOf([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, sd: 2, count: 8 });
    expect(statsOf([])).toEqual({ mean: 0, sd: 0, count: 0 });
  });
});
