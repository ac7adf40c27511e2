/**
 * A byte stream from the socket to a service handler, with backpressure: when more than `highWater` bytes
 * wait, `onPause` is called (the association pauses its socket); when the handler has taken them, `onResume`.
 */
export class DataQueue implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private failed: Error | undefined;
  private wake: (() => void) | undefined;
  private paused = false;

  constructor(
    private readonly highWater: number,
    private readonly onPause: () => void,
    private readonly onResume: () => void,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.ended) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (!this.paused && this.bytes > this.highWater) {
      this.paused = true;
      this.onPause();
    }
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Ends the stream with an error (the association aborted while the handler was reading). */
  fail(e: Error): void {
    this.failed = e;
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.chunks.length) {
        const c = this.chunks.shift()!;
        this.bytes -= c.length;
        if (this.paused && this.bytes <= this.highWater / 2) {
          this.paused = false;
          this.onResume();
        }
        yield c;
        continue;
      }
      if (this.failed) throw this.failed;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}
