import type { PixelModule } from '../core/imaging/pixel-module.js';
import type { VoiFunction } from '../core/imaging/render.js';

/** A viewport (PS3.18 8.3.5.1.3): output size, and optionally the source region (negative sizes flip). */
export interface Viewport {
  readonly width: number;
  readonly height: number;
  readonly region?: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  };
}

interface FrameInput {
  readonly transferSyntaxUid: string;
  readonly pm: PixelModule;
  /** The frame's bytes as stored (fragments, or a slice of native pixel data). */
  readonly pieces: readonly Uint8Array[];
  /** Native one-bit frames: the bit the frame starts at. */
  readonly bitOffset: number;
}

/** Decode a frame and encode it in another transfer syntax. */
export interface TranscodeTask extends FrameInput {
  readonly op: 'transcode';
  readonly target: string;
}

/** Render a frame to JPEG or PNG. */
export interface RenderTask extends FrameInput {
  readonly op: 'render';
  readonly format: 'jpeg' | 'png';
  readonly quality: number;
  readonly window?: { center: number; width: number; fn?: VoiFunction };
  readonly viewport?: Viewport;
}

export type ImageTask = TranscodeTask | RenderTask;

/** Where image tasks run (a worker pool): CPU-heavy decoding and rendering off the event loop. */
export interface ImageProcessor {
  run(task: ImageTask): Promise<Uint8Array>;
  close(): Promise<void>;
}
