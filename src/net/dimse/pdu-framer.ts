import { LanternError } from '../../core/errors.js';

/**
 * Cuts a TCP byte stream into whole PDUs. A PDU longer than `maxLength` is refused before it is buffered
 * (the caller aborts), so memory stays bounded by the largest PDU we accept.
 */
export class PduFramer {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private maxLength: (type: number) => number) {}

  /** Returns the complete PDUs in `chunk` (and before it); throws when a PDU announces more than allowed. */
  push(chunk: Uint8Array): Uint8Array[] {
    const b = this.buf.length ? concat(this.buf, chunk) : chunk;
    const out: Uint8Array[] = [];
    let o = 0;
    while (b.length - o >= 6) {
      const type = b[o];
      const len = ((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0;
      const max = this.maxLength(type);
      if (len > max)
        throw new FramerError(`PDU of type 0x${type.toString(16)} announces ${len} bytes, more than ${max}`);
      if (b.length - o < 6 + len) break;
      out.push(b.subarray(o, o + 6 + len));
      o += 6 + len;
    }
    this.buf = o === b.length ? new Uint8Array(0) : b.slice(o);
    return out;
  }

  get pending(): number {
    return this.buf.length;
  }
}

/** A PDU announcing more bytes than we accept. */
export class FramerError extends LanternError {
  constructor(message: string) {
    super('LNT_DIMSE_PDU', message);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
