/**
 * Window/level (VOI) arithmetic of PS3.3 C.11.2.1.2, in the units of the modality LUT's output (Hounsfield
 * units for CT): window centre and width to the range of stored values shown from black to white, and back;
 * and the presets a reader expects per modality.
 */

export interface Window {
  /** Window Center (0028,1050). */
  readonly center: number;
  /** Window Width (0028,1051), at least 1. */
  readonly width: number;
}

export interface VoiRange {
  /** The value shown as the darkest grey (and everything below it). */
  readonly lower: number;
  /** The value shown as the brightest grey (and everything above it). */
  readonly upper: number;
}

/**
 * The LINEAR VOI LUT function (C.11.2.1.2.1): values at or below c - 0.5 - (w - 1) / 2 show the minimum,
 * values above c - 0.5 + (w - 1) / 2 the maximum.
 */
export function windowToRange(w: Window): VoiRange {
  const width = Math.max(1, w.width);
  return { lower: w.center - 0.5 - (width - 1) / 2, upper: w.center - 0.5 + (width - 1) / 2 };
}

/** The inverse of windowToRange. */
export function rangeToWindow(r: VoiRange): Window {
  const width = Math.max(1, r.upper - r.lower + 1);
  return { center: r.lower + 0.5 + (width - 1) / 2, width };
}

/**
 * The window after a drag of (dx, dy) screen pixels (right widens the window, down raises the centre, as in
 * most PACS viewers), in steps that scale with the data's own range so that a CT (thousands of HU) and an
 * 8-bit secondary capture take the same effort.
 */
export function dragWindow(w: Window, dx: number, dy: number, dataRange: number): Window {
  const step = Math.max(dataRange, 1) / 1024;
  return { center: w.center + dy * step, width: Math.max(1, w.width + dx * step) };
}

/** A named window. */
export interface Preset extends Window {
  readonly name: string;
  /** The key that applies it in the viewer. */
  readonly key: string;
}

/** Presets per modality (CT in Hounsfield units, as radiology departments use them). */
export const PRESETS: Readonly<Record<string, readonly Preset[]>> = {
  CT: [
    { name: 'Soft tissue', center: 40, width: 400, key: '1' },
    { name: 'Lung', center: -600, width: 1500, key: '2' },
    { name: 'Mediastinum', center: 50, width: 350, key: '3' },
    { name: 'Bone', center: 300, width: 2000, key: '4' },
    { name: 'Brain', center: 40, width: 80, key: '5' },
    { name: 'Liver', center: 60, width: 160, key: '6' },
  ],
};

/** The presets offered for a modality (none for modalities without standard windows). */
export function presetsFor(modality: string | undefined): readonly Preset[] {
  return PRESETS[modality ?? ''] ?? [];
}

/**
 * The window an image opens with: its first Window Center/Width pair when it has one (multi-valued
 * attributes list alternatives, the first is the default), else the full range of its values.
 */
export function initialWindow(
  centers: readonly number[] | undefined,
  widths: readonly number[] | undefined,
  min: number,
  max: number,
): Window {
  const c = centers?.[0];
  const w = widths?.[0];
  if (c !== undefined && w !== undefined && Number.isFinite(c) && Number.isFinite(w) && w >= 1) {
    return { center: c, width: w };
  }
  return rangeToWindow({ lower: min, upper: max });
}

/**
 * Modality LUT (C.11.1): stored value to output units with Rescale Slope and Intercept (identity when
 * absent).
 */
export function rescale(stored: number, slope = 1, intercept = 0): number {
  return stored * slope + intercept;
}
