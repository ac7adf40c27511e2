import sharp from 'sharp';
import { renderFrame } from '../../core/imaging/render.js';
import type { ImageTask } from '../../ports/image-processor.js';
import { lookupTransferSyntax } from '../../core/dicom/transfer-syntax.js';
import { decodeFrame, encodeFrame, toInterleaved } from './codecs.js';

/** Runs one image task (in a pool worker, or in process). */
export async function runImageTask(task: ImageTask): Promise<Uint8Array> {
  const frame = await decodeFrame(task.transferSyntaxUid, task.pm, task.pieces, task.bitOffset);
  if (task.op === 'transcode') {
    // Decoded colour frames go out colour-by-pixel (as a rewritten data set says with Planar Configuration 0).
    const planar =
      frame.planarConfiguration === 1 && lookupTransferSyntax(task.transferSyntaxUid)?.encapsulated;
    const out = planar ? { ...frame, data: toInterleaved(frame), planarConfiguration: 0 } : frame;
    return encodeFrame(task.target, out, task.pm.pixelRepresentation);
  }
  const display = renderFrame(frame, task.pm, { window: task.window });
  let img = sharp(display.data, {
    raw: { width: display.width, height: display.height, channels: display.channels },
  });
  const vp = task.viewport;
  if (vp?.region) {
    const r = vp.region;
    const left = Math.min(r.x, r.x + r.width);
    const top = Math.min(r.y, r.y + r.height);
    const width = Math.abs(r.width);
    const height = Math.abs(r.height);
    img = img.extract({ left, top, width, height });
    if (r.width < 0) img = img.flop();
    if (r.height < 0) img = img.flip();
  }
  if (vp) img = img.resize(vp.width, vp.height, { fit: 'inside' });
  // Grey stays one channel (sharp would otherwise write sRGB).
  if (display.channels === 1) img = img.toColourspace('b-w');
  const out = task.format === 'png' ? img.png() : img.jpeg({ quality: task.quality });
  return new Uint8Array(await out.toBuffer());
}
