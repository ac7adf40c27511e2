/** What a compressed frame's own header declares. */
export interface CodestreamHeader {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly precision: number;
  /** The JPEG SOF marker (0xC0..0xCF, 0xF7 for JPEG-LS); undefined for JPEG 2000. */
  readonly sof: number | undefined;
}

/**
 * Reads the frame header of a JPEG, JPEG-LS (SOFn, SOF55) or JPEG 2000 (SIZ) codestream without decoding it,
 * so that a frame whose size disagrees with its data set is refused before a codec allocates for it.
 * Undefined when no header is found in the first marker segments.
 */
export function readCodestreamHeader(src: Uint8Array): CodestreamHeader | undefined {
  const u16 = (at: number): number => (src[at] << 8) | src[at + 1];
  const u32 = (at: number): number =>
    ((src[at] << 24) | (src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3]) >>> 0;
  if (src.length < 4 || src[0] !== 0xff) return undefined;
  if (src[1] === 0x4f) {
    // JPEG 2000: SOC then SIZ (ISO/IEC 15444-1 A.5.1).
    if (src.length < 42 || u16(2) !== 0xff51) return undefined;
    const width = u32(8) - u32(16);
    const height = u32(12) - u32(20);
    return { width, height, components: u16(40), precision: (src[42] & 0x7f) + 1, sof: undefined };
  }
  if (src[1] !== 0xd8) return undefined;
  let p = 2;
  while (p + 4 <= src.length) {
    if (src[p] !== 0xff) return undefined;
    const m = src[p + 1];
    if (m === 0xff) {
      p++;
      continue;
    }
    const len = u16(p + 2);
    const isSof = (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
    if (isSof) {
      if (p + 10 > src.length) return undefined;
      return { precision: src[p + 4], height: u16(p + 5), width: u16(p + 7), components: src[p + 9], sof: m };
    }
    if (m === 0xda || m === 0xd9) return undefined;
    p += 2 + len;
  }
  return undefined;
}
