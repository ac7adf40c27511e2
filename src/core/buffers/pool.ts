/**
 * Where a reader takes the buffers it reads into, so that a caller that knows when the bytes are no longer
 * referred to can hand the memory to the next read instead of allocating anew.
 */
export interface ReadBuffers {
  /** A buffer of exactly `size` bytes to read into, or undefined (the reader allocates its own). */
  take(size: number): Uint8Array | undefined;
}

/**
 * Fixed-size buffers reused across reads. Streaming a study allocates hundreds of megabytes of read buffers
 * otherwise; memory outside the JavaScript heap that comes and goes that fast makes the engine run full
 * garbage collections, which then cost more than the copying. A buffer goes back to the pool only through
 * `give`, and only once: whoever gives it back promises that nothing still reads it (a socket write has
 * completed). A buffer never given back is simply collected.
 */
export class BufferPool implements ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly bufferBytes = 1024 * 1024,
    private readonly maxFree = 32,
  ) {}

  take(size: number): Uint8Array | undefined {
    if (size > this.bufferBytes || size <= 0) return undefined;
    const whole = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    this.lent.add(whole.buffer);
    return whole.subarray(0, size);
  }

  /** Takes back a buffer `take` gave (or a view of one); anything else is ignored. */
  give(chunk: Uint8Array): void {
    const memory = chunk.buffer;
    if (!this.lent.delete(memory)) return;
    if (this.free.length < this.maxFree) this.free.push(Buffer.from(memory, 0, this.bufferBytes));
  }

  /** Buffers waiting to be taken. */
  get idle(): number {
    return this.free.length;
  }
}
