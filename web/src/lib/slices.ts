/**
 * Synchronised scrolling between stacks: the slice of another stack nearest to a point in the patient, with
 * the offset between two studies fixed when the reader links them (what each shows then is taken to be the
 * same place; studies of one patient on different days rarely share a frame of reference).
 */
import type { Vec3 } from './orientation.js';

/** The index of the position nearest to `point`, or -1 when there are none. */
export function nearestIndex(positions: readonly (Vec3 | undefined)[], point: Vec3): number {
  let best = -1;
  let bestDistance = Infinity;
  positions.forEach((p, i) => {
    if (!p) return;
    const d = Math.hypot(p[0] - point[0], p[1] - point[1], p[2] - point[2]);
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  });
  return best;
}

/** Where a target stack should be when the source shows `source`, given both positions when they were linked. */
export function followPoint(source: Vec3, sourceAnchor: Vec3, targetAnchor: Vec3): Vec3 {
  return [
    source[0] - sourceAnchor[0] + targetAnchor[0],
    source[1] - sourceAnchor[1] + targetAnchor[1],
    source[2] - sourceAnchor[2] + targetAnchor[2],
  ];
}
