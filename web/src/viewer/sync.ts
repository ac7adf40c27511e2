/**
 * Synchronised scrolling: the linked stacks follow whichever one is scrolled, by position in the patient
 * (lib/slices.ts), the offset between them fixed when they are linked.
 */
import type { Types } from '@cornerstonejs/core';
import { type Vec3 } from '../lib/orientation.js';
import { nums } from '../lib/dicom-json.js';
import { followPoint, nearestIndex } from '../lib/slices.js';
import { Events, instanceOfImage, renderingEngine } from './cornerstone.js';

function positionOf(imageId: string | undefined): Vec3 | undefined {
  const ipp = imageId ? nums(instanceOfImage.get(imageId)?.instance, 'ImagePositionPatient') : [];
  return ipp.length === 3 ? [ipp[0], ipp[1], ipp[2]] : undefined;
}

/** Links the given viewports until the returned function is called. */
export function syncViewports(viewportIds: readonly string[]): () => void {
  const engine = renderingEngine();
  const vps = viewportIds
    .map((id) => engine.getViewport(id) as Types.IStackViewport | undefined)
    .filter((v): v is Types.IStackViewport => !!v && v.getImageIds().length > 0);
  if (vps.length < 2) return () => undefined;
  const anchors = new Map<string, Vec3 | undefined>(
    vps.map((v) => [v.id, positionOf(v.getCurrentImageId())]),
  );
  let following = false;
  const handlers = vps.map((src) => {
    const on = async () => {
      if (following) return;
      const p = positionOf(src.getCurrentImageId());
      const a = anchors.get(src.id);
      if (!p || !a) return;
      following = true;
      try {
        for (const t of vps) {
          const ta = anchors.get(t.id);
          if (t === src || !ta) continue;
          const i = nearestIndex(t.getImageIds().map(positionOf), followPoint(p, a, ta));
          if (i >= 0 && i !== t.getCurrentImageIdIndex()) await t.setImageIdIndex(i);
        }
      } finally {
        following = false;
      }
    };
    src.element.addEventListener(Events.STACK_NEW_IMAGE, on);
    return { src, on };
  });
  return () => {
    for (const { src, on } of handlers) src.element.removeEventListener(Events.STACK_NEW_IMAGE, on);
  };
}
