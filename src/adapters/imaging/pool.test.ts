import { describe, expect, it } from 'vitest';
import type { PixelModule } from '../../core/imaging/pixel-module.js';
import type { RenderTask } from '../../ports/image-processor.js';
import { ImagePool } from './pool.js';

function task(size: number): RenderTask {
  const pm: PixelModule = {
    rows: size,
    columns: size,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 11,
    pixelRepresentation: 0,
    photometric: 'MONOCHROME2',
    planarConfiguration: 0,
    frames: 1,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    windows: [],
    voiLutFunction: 'LINEAR',
    presentationLutShape: 'IDENTITY',
    palette: undefined,
    modalityLut: undefined,
    voiLuts: [],
  };
  return {
    op: 'render',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    pm,
    pieces: [new Uint8Array(size * size * 2).map((_, i) => i % 251)],
    bitOffset: 0,
    format: 'png',
    quality: 90,
  };
}

describe('image worker pool', () => {
  it('a task that runs past its time fails, its worker is replaced, and every later task settles', async () => {
    // A millisecond is shorter than rendering a 4096 x 4096 frame to PNG anywhere.
    const pool = new ImagePool(1, 64, 1);
    try {
      await expect(pool.run(task(4096))).rejects.toMatchObject({
        code: 'LNT_IMAGE_INVALID',
        message: expect.stringMatching(/took longer than/),
      });
      const later = await Promise.allSettled([pool.run(task(8)), pool.run(task(8)), pool.run(task(4096))]);
      expect(later.map((r) => r.status).length).toBe(3);
    } finally {
      await pool.close();
    }
    const normal = new ImagePool(1);
    try {
      expect((await normal.run(task(64))).length).toBeGreaterThan(0);
    } finally {
      await normal.close();
    }
  });
});
