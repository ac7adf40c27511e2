import { randomUUID } from 'node:crypto';
import { LanternError } from '../../../core/errors.js';

/** Part headers beyond this size are refused: a header block is a few hundred bytes. */
const MAX_HEADER_BYTES = 16 * 1024;

export class MultipartError extends LanternError {
  constructor(message: string) {
    super('LNT_HTTP_BAD_REQUEST', message);
  }
}

/** What the push parser reports, in order: a part's headers, its body bytes, its end; then the end. */
export type MultipartEvent =
  | { readonly type: 'headers'; readonly headers: Record<string, string> }
  | { readonly type: 'data'; readonly bytes: Uint8Array }
  | { readonly type: 'partEnd' }
  | { readonly type: 'end' };

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A streaming multipart/related reader (RFC 2046 5.1, RFC 2387): push chunks as they arrive, take events.
 * Body bytes are passed on as they come, holding back only what could be the start of a delimiter, so a
 * part of any size goes through in bounded memory.
 */
export class MultipartParser {
  private readonly delimiter: Buffer;
  private state: 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'epilogue' = 'preamble';
  /** Bytes not yet decided on (at most a delimiter's length in the body, a header block in headers). */
  private pending: Buffer;

  constructor(boundary: string) {
    if (!boundary || boundary.length > 70) throw new MultipartError('multipart boundary missing or too long');
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    // The first delimiter may start the body without a CRLF before it.
    this.pending = Buffer.from(CRLF);
  }

  push(chunk: Uint8Array): MultipartEvent[] {
    this.pending = this.pending.length
      ? Buffer.concat([this.pending, chunk])
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: MultipartEvent[] = [];
    for (;;) {
      const before = this.state;
      const consumed = this.step(out);
      if (!consumed && before === this.state) return out;
    }
  }

  /** The input ended: it must have closed its last part. */
  end(): MultipartEvent[] {
    if (this.state !== 'epilogue') {
      throw new MultipartError(
        this.state === 'preamble'
          ? 'no multipart boundary found in the body'
          : 'multipart body ends before its closing boundary',
      );
    }
    return [{ type: 'end' }];
  }

  /** One step of the state machine; true when it consumed input. */
  private step(out: MultipartEvent[]): boolean {
    const buf = this.pending;
    switch (this.state) {
      case 'preamble': {
        const at = buf.indexOf(this.delimiter);
        if (at < 0) {
          this.keepTail(this.delimiter.length - 1);
          return false;
        }
        this.pending = buf.subarray(at + this.delimiter.length);
        this.state = 'afterDelimiter';
        return true;
      }
      case 'afterDelimiter': {
        // "--" closes the body; otherwise optional linear white space, then CRLF, then headers.
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          this.state = 'epilogue';
          this.pending = Buffer.alloc(0);
          out.push({ type: 'end' });
          return true;
        }
        const crlf = buf.indexOf(CRLF);
        if (crlf < 0) {
          if (buf.length > 256) throw new MultipartError('malformed multipart delimiter line');
          return false;
        }
        if (!/^[ \t]*$/.test(buf.subarray(0, crlf).toString('latin1')))
          throw new MultipartError('malformed multipart delimiter line');
        this.pending = buf.subarray(crlf + 2);
        this.state = 'headers';
        return true;
      }
      case 'headers': {
        // A part without headers starts its body right after the delimiter line's CRLF.
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          out.push({ type: 'headers', headers: {} });
          this.pending = buf.subarray(2);
          this.state = 'body';
          return true;
        }
        const end = buf.indexOf(HEADER_END);
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new MultipartError('multipart part headers are too large');
          return false;
        }
        if (end > MAX_HEADER_BYTES) throw new MultipartError('multipart part headers are too large');
        out.push({ type: 'headers', headers: parseHeaders(buf.subarray(0, end).toString('latin1')) });
        this.pending = buf.subarray(end + 4);
        this.state = 'body';
        return true;
      }
      case 'body': {
        const at = buf.indexOf(this.delimiter);
        if (at < 0) {
          const keep = Math.min(buf.length, this.delimiter.length - 1);
          if (buf.length > keep) out.push({ type: 'data', bytes: buf.subarray(0, buf.length - keep) });
          this.pending = Buffer.from(buf.subarray(buf.length - keep));
          return false;
        }
        if (at > 0) out.push({ type: 'data', bytes: buf.subarray(0, at) });
        out.push({ type: 'partEnd' });
        this.pending = buf.subarray(at + this.delimiter.length);
        this.state = 'afterDelimiter';
        return true;
      }
      case 'epilogue':
        this.pending = Buffer.alloc(0);
        return false;
    }
  }

  private keepTail(n: number): void {
    const buf = this.pending;
    this.pending = Buffer.from(buf.subarray(Math.max(0, buf.length - n)));
  }
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError('malformed multipart part header');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** One part as the reader hands it out: headers, and a body to consume before asking for the next part. */
export interface Part {
  readonly headers: Record<string, string>;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * The parts of a multipart body, one at a time. A part's body streams from the source; a part the caller
 * leaves unread is skipped when the next one is asked for.
 */
export async function* readParts(source: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<Part> {
  const parser = new MultipartParser(boundary);
  const it = source[Symbol.asyncIterator]();
  const queue: MultipartEvent[] = [];
  let sourceDone = false;
  const next = async (): Promise<MultipartEvent> => {
    while (!queue.length) {
      if (sourceDone) throw new MultipartError('multipart body ends before its closing boundary');
      const r = await it.next();
      if (r.done) {
        sourceDone = true;
        queue.push(...parser.end());
      } else queue.push(...parser.push(r.value));
    }
    return queue.shift()!;
  };
  let bodyOpen = false;
  try {
    for (;;) {
      // Skip whatever the caller left of the previous part.
      while (bodyOpen) {
        const e = await next();
        if (e.type === 'partEnd') bodyOpen = false;
      }
      const e = await next();
      if (e.type === 'end') return;
      if (e.type !== 'headers') throw new MultipartError('malformed multipart body');
      bodyOpen = true;
      const body = async function* (): AsyncGenerator<Uint8Array> {
        while (bodyOpen) {
          const ev = await next();
          if (ev.type === 'data') yield ev.bytes;
          else if (ev.type === 'partEnd') bodyOpen = false;
        }
      };
      yield { headers: e.headers, body: body() };
    }
  } finally {
    await it.return?.();
  }
}

/** A boundary for responses we write. */
export function newBoundary(): string {
  return `lantern-${randomUUID()}`;
}

/** The bytes around one part of a multipart response: what goes before its body, and what after. */
export function partHead(boundary: string, headers: Record<string, string>): Buffer {
  let s = `--${boundary}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return Buffer.from(s + '\r\n', 'latin1');
}

export const PART_TAIL = Buffer.from('\r\n');

export function closing(boundary: string): Buffer {
  return Buffer.from(`--${boundary}--\r\n`, 'latin1');
}
