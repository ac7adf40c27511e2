import { type JsonDataset, num, nums, str } from './dicom-json.js';

/**
 * How distances in an image relate to millimetres (PS3.3 10.7.1.3, "Pixel Spacing Attributes"): what a
 * measurement may claim, and the arithmetic of lengths and areas in pixel and patient units.
 */

/** What a measurement's unit means. */
export type CalibrationKind =
  /** Pixel Spacing of a cross-sectional image (CT, MR, PET, ...): in the patient. */
  | 'patient'
  /** Pixel Spacing of a projection radiograph calibrated to a plane (Pixel Spacing Calibration Type). */
  | 'calibrated'
  /**
   * Imager Pixel Spacing only, divided by the Estimated Radiographic Magnification Factor: an estimate at
   * the isocentre.
   */
  | 'magnification'
  /** Imager Pixel Spacing only: at the detector, so objects in the patient are smaller than measured. */
  | 'detector'
  /** No spacing at all: pixels. */
  | 'uncalibrated';

export interface Calibration {
  readonly kind: CalibrationKind;
  /** Spacing between rows (vertical), in mm; 1 with 'uncalibrated' (the unit is the pixel). */
  readonly rowSpacing: number;
  /** Spacing between columns (horizontal), in mm; 1 with 'uncalibrated'. */
  readonly columnSpacing: number;
  /** 'mm' or 'px'. */
  readonly unit: 'mm' | 'px';
  /** What to say beside the value, empty when the value needs no caveat. */
  readonly caveat: string;
}

/** The attributes that calibrate an image (values as numbers, DICOM JSON order). */
export interface SpacingAttributes {
  readonly pixelSpacing?: readonly number[];
  readonly imagerPixelSpacing?: readonly number[];
  readonly estimatedRadiographicMagnificationFactor?: number;
  readonly pixelSpacingCalibrationType?: string;
  readonly pixelSpacingCalibrationDescription?: string;
  /** True for projection radiography (CR, DX, MG, IO, XA, RF, ...), where the beam diverges. */
  readonly projection: boolean;
}

/** Modalities whose images are projections of a diverging beam (spacing at the detector is not in the patient). */
export const PROJECTION_MODALITIES: ReadonlySet<string> = new Set([
  'CR',
  'DX',
  'MG',
  'IO',
  'PX',
  'RG',
  'XA',
  'RF',
  'DF',
]);

function pair(v: readonly number[] | undefined): [number, number] | undefined {
  if (!v || v.length < 2) return undefined;
  const [r, c] = v;
  return Number.isFinite(r) && Number.isFinite(c) && r > 0 && c > 0 ? [r, c] : undefined;
}

/** The calibration of an image from its data set (DICOM JSON), by the standard's rules. */
export function calibrationOfDataset(ds: JsonDataset | undefined): Calibration {
  return calibrationOf({
    pixelSpacing: nums(ds, 'PixelSpacing'),
    imagerPixelSpacing: nums(ds, 'ImagerPixelSpacing'),
    estimatedRadiographicMagnificationFactor: num(ds, 'EstimatedRadiographicMagnificationFactor'),
    pixelSpacingCalibrationType: str(ds, 'PixelSpacingCalibrationType'),
    pixelSpacingCalibrationDescription: str(ds, 'PixelSpacingCalibrationDescription'),
    projection: PROJECTION_MODALITIES.has(str(ds, 'Modality')),
  });
}

/** The calibration of an image, by the standard's rules. */
export function calibrationOf(a: SpacingAttributes): Calibration {
  const ps = pair(a.pixelSpacing);
  const ips = pair(a.imagerPixelSpacing);
  if (ps && !a.projection)
    return { kind: 'patient', rowSpacing: ps[0], columnSpacing: ps[1], unit: 'mm', caveat: '' };
  if (ps && a.projection) {
    // Pixel Spacing in a projection image: calibrated to some plane, or (when equal to Imager Pixel
    // Spacing and no calibration type is given) the detector spacing copied over.
    const copied = ips && ips[0] === ps[0] && ips[1] === ps[1] && !a.pixelSpacingCalibrationType;
    if (!copied) {
      const what = a.pixelSpacingCalibrationDescription || a.pixelSpacingCalibrationType || 'a plane';
      return {
        kind: 'calibrated',
        rowSpacing: ps[0],
        columnSpacing: ps[1],
        unit: 'mm',
        caveat: `calibrated to ${what}`,
      };
    }
  }
  if (ips) {
    const m = a.estimatedRadiographicMagnificationFactor;
    if (m !== undefined && Number.isFinite(m) && m > 0 && m !== 1) {
      return {
        kind: 'magnification',
        rowSpacing: ips[0] / m,
        columnSpacing: ips[1] / m,
        unit: 'mm',
        caveat: 'estimated at the isocentre (magnification corrected)',
      };
    }
    return {
      kind: 'detector',
      rowSpacing: ips[0],
      columnSpacing: ips[1],
      unit: 'mm',
      caveat: 'at the detector: objects in the patient are smaller',
    };
  }
  return { kind: 'uncalibrated', rowSpacing: 1, columnSpacing: 1, unit: 'px', caveat: 'uncalibrated' };
}

/** A point in image pixel coordinates: column (x, to the right) and row (y, down), in pixels. */
export interface ImagePoint {
  readonly x: number;
  readonly y: number;
}

/** The distance between two image points in the calibration's unit. */
export function lengthOf(c: Calibration, a: ImagePoint, b: ImagePoint): number {
  const dx = (b.x - a.x) * c.columnSpacing;
  const dy = (b.y - a.y) * c.rowSpacing;
  return Math.hypot(dx, dy);
}

/** The area of an axis-aligned rectangle (corners a and b) or ellipse (bounding box a, b) in unit². */
export function areaOf(c: Calibration, shape: 'rectangle' | 'ellipse', a: ImagePoint, b: ImagePoint): number {
  const w = Math.abs(b.x - a.x) * c.columnSpacing;
  const h = Math.abs(b.y - a.y) * c.rowSpacing;
  return shape === 'rectangle' ? w * h : (Math.PI * w * h) / 4;
}

/** The angle at `vertex` between the rays to a and b, in degrees, in patient geometry (anisotropic pixels). */
export function angleOf(c: Calibration, a: ImagePoint, vertex: ImagePoint, b: ImagePoint): number {
  const ux = (a.x - vertex.x) * c.columnSpacing;
  const uy = (a.y - vertex.y) * c.rowSpacing;
  const vx = (b.x - vertex.x) * c.columnSpacing;
  const vy = (b.y - vertex.y) * c.rowSpacing;
  const n = Math.hypot(ux, uy) * Math.hypot(vx, vy);
  if (n === 0) return 0;
  const cos = Math.min(1, Math.max(-1, (ux * vx + uy * vy) / n));
  return (Math.acos(cos) * 180) / Math.PI;
}

/** A value with its unit and caveat, as the measurement list shows it ("52.3 mm", "140 px (uncalibrated)"). */
export function formatLength(c: Calibration, value: number, squared = false): string {
  const unit = c.unit + (squared ? '²' : '');
  const digits = c.unit === 'px' ? 0 : value < 10 ? 2 : 1;
  return `${value.toFixed(digits)} ${unit}${c.caveat ? ` (${c.caveat})` : ''}`;
}

/** Mean and standard deviation (population) of values, as an ROI reports them. */
export function statsOf(values: ArrayLike<number>): { mean: number; sd: number; count: number } {
  const n = values.length;
  if (!n) return { mean: 0, sd: 0, count: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  return { mean, sd: Math.sqrt(sq / n), count: n };
}
