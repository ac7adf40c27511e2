/**
 * Orientation markers (PS3.3 C.7.6.2.1.1): the patient direction at each edge of a viewport, from the
 * directions of the screen's right and down in patient coordinates (+x to the patient's left, +y posterior,
 * +z head).
 */

export type Vec3 = readonly [number, number, number];

const LETTERS: readonly (readonly [string, string])[] = [
  ['L', 'R'],
  ['P', 'A'],
  ['H', 'F'],
];

/**
 * The letters of a direction, strongest axis first, leaving out axes that contribute less than `minor` (so
 * a slightly oblique axial image says "L", and a 45 degree oblique "LP").
 */
export function directionLabel(v: Vec3, minor = 0.25): string {
  const axes = [0, 1, 2]
    .map((i) => ({ i, m: Math.abs(v[i]) }))
    .filter((a) => a.m > minor)
    .sort((a, b) => b.m - a.m);
  return axes.map(({ i }) => LETTERS[i][v[i] > 0 ? 0 : 1]).join('');
}

export interface Markers {
  readonly left: string;
  readonly right: string;
  readonly top: string;
  readonly bottom: string;
}

const neg = (v: Vec3): Vec3 => [-v[0], -v[1], -v[2]];

/** The four markers, given where the screen's right and down point in the patient. */
export function markersFor(screenRight: Vec3, screenDown: Vec3): Markers {
  return {
    right: directionLabel(screenRight),
    left: directionLabel(neg(screenRight)),
    bottom: directionLabel(screenDown),
    top: directionLabel(neg(screenDown)),
  };
}

/**
 * The screen's right and down for an image shown as stored, from Image Orientation (Patient) (0020,0037):
 * the first three values are the direction of a row (to the right), the last three of a column (down).
 */
export function fromImageOrientation(iop: readonly number[]): { right: Vec3; down: Vec3 } | undefined {
  if (iop.length !== 6 || iop.some((x) => !Number.isFinite(x))) return undefined;
  return { right: [iop[0], iop[1], iop[2]], down: [iop[3], iop[4], iop[5]] };
}

/**
 * The directions after the viewer's own transforms (rotation clockwise in degrees, then horizontal and
 * vertical flips), applied to the image's right and down.
 */
export function transformed(
  right: Vec3,
  down: Vec3,
  rotation: number,
  flipH: boolean,
  flipV: boolean,
): { right: Vec3; down: Vec3 } {
  const turns = (((Math.round(rotation / 90) % 4) + 4) % 4) as 0 | 1 | 2 | 3;
  let r = right;
  let d = down;
  // A clockwise quarter turn: what was up is now right, what was right is now down.
  for (let i = 0; i < turns; i++) [r, d] = [neg(d), r];
  if (flipH) r = neg(r);
  if (flipV) d = neg(d);
  return { right: r, down: d };
}

/**
 * Markers for a projection image without Image Orientation: Patient Orientation (0020,0020) gives the
 * directions of the row and the column as letters (e.g. "A\F").
 */
export function fromPatientOrientation(po: readonly string[]): Markers | undefined {
  if (po.length !== 2) return undefined;
  const opposite: Record<string, string> = { L: 'R', R: 'L', A: 'P', P: 'A', H: 'F', F: 'H' };
  const flip = (s: string) => [...s].map((ch) => opposite[ch] ?? ch).join('');
  return { right: po[0], left: flip(po[0]), bottom: po[1], top: flip(po[1]) };
}
