import { Readable, type Writable } from 'node:stream';

/**
 * A streamed response body that writes straight to the response when fastify pipes it there: the chunks that
 * are ready in one turn of the event loop leave in one system call (the response is corked until the loop
 * turns), and the body waits for 'drain' only when the response's buffer is full. A pipe from a Readable
 * costs a stream hop per chunk; retrieval of a study is thousands of chunks. Everything else is fastify's
 * own handling of a stream body: headers and hooks, an error before the first byte, a client that goes away
 * (the body is destroyed and stops reading its source).
 */
export class DirectBody extends Readable {
  /** `sent` is told of each chunk once the response has handed it to the system (its memory is free). */
  constructor(
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly sent?: (chunk: Uint8Array) => void,
  ) {
    super();
  }

  override _read(): void {
    // Nothing is pulled through the Readable side: pipe() pumps the source itself.
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T): T {
    void this.pump(dest as unknown as Writable);
    return dest;
  }

  private async pump(dest: Writable): Promise<void> {
    let corked = false;
    const uncork = () => {
      corked = false;
      dest.uncork();
    };
    try {
      for await (const chunk of this.source) {
        if (this.destroyed || dest.destroyed) return;
        if (!corked) {
          corked = true;
          dest.cork();
          setImmediate(uncork);
        }
        const sent = this.sent;
        const ok = sent ? dest.write(chunk, (err) => err || sent(chunk)) : dest.write(chunk);
        if (!ok) await drained(dest);
      }
      if (this.destroyed || dest.destroyed) return;
      dest.end();
      // Ends the Readable side, which is what fastify waits for.
      this.push(null);
      this.resume();
    } catch (e) {
      this.destroy(e as Error);
    }
  }
}

/** Resolves when `dest` can take more, or is gone. */
function drained(dest: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      dest.off('drain', done);
      dest.off('close', done);
      resolve();
    };
    dest.on('drain', done);
    dest.on('close', done);
  });
}
