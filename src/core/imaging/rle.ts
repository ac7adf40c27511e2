import { LanternError } from '../errors.js';

function invalid(message: string): never {
  throw new LanternError('LNT_IMAGE_INVALID', `RLE: ${message}`);
}

/**
 * Decodes one RLE Lossless frame (PS3.5 Annex G) to native little-endian samples, colour-by-pixel.
 * `bytesPerSample` is Bits Allocated / 8; segments hold each sample's bytes most significant first.
 */
export function decodeRle(
  src: Uint8Array,
  pixels: number,
  samplesPerPixel: number,
  bytesPerSample: number,
): Uint8Array {
  if (src.length < 64) invalid('the frame is shorter than its 64-byte header');
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const segments = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments !== expected) invalid(`${segments} segments where ${expected} are expected`);
  const offs: number[] = [];
  for (let i = 0; i < segments; i++) offs.push(view.getUint32(4 + i * 4, true));
  const out = new Uint8Array(pixels * expected);
  for (let seg = 0; seg < segments; seg++) {
    const start = offs[seg];
    const end = seg + 1 < segments ? offs[seg + 1] : src.length;
    if (start < 64 || start > src.length || end < start || end > src.length) {
      invalid(`segment ${seg + 1} lies outside the frame`);
    }
    const sample = Math.floor(seg / bytesPerSample);
    const byte = bytesPerSample - 1 - (seg % bytesPerSample);
    const stride = expected;
    let o = sample * bytesPerSample + byte;
    const limit = out.length;
    let p = start;
    let written = 0;
    while (p < end && written < pixels) {
      const n = src[p++];
      if (n < 128) {
        const count = n + 1;
        if (p + count > end) invalid(`segment ${seg + 1} ends inside a literal run`);
        for (let i = 0; i < count && written < pixels; i++, written++, o += stride) out[o] = src[p + i];
        p += count;
      } else if (n > 128) {
        if (p >= end) invalid(`segment ${seg + 1} ends inside a replicate run`);
        const v = src[p++];
        const count = 257 - n;
        for (let i = 0; i < count && written < pixels; i++, written++, o += stride) out[o] = v;
      }
    }
    if (written < pixels || o - stride >= limit)
      invalid(`segment ${seg + 1} decodes to fewer than ${pixels} bytes`);
  }
  return out;
}
