import { LanternError } from '../../core/errors.js';

/**
 * Cuts a TCP byte stream into whole PDUs. A PDU longer than `maxLength` is refused before it is buffered
 * (the caller aborts), so memory stays bounded by the largest PDU we accept.
 */
export class PduFramer {
  /** Bytes received and not yet returned, as they came (copied only to join a PDU split across reads). */
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private maxLength: (type: number) => number) {}

  /** Returns the complete PDUs in `chunk` (and before it); throws when a PDU announces more than allowed. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length) {
      this.parts.push(chunk);
      this.size += chunk.length;
    }
    const out: Uint8Array[] = [];
    while (this.size >= 6) {
      const type = this.byte(0);
      const len = ((this.byte(2) << 24) | (this.byte(3) << 16) | (this.byte(4) << 8) | this.byte(5)) >>> 0;
      const max = this.maxLength(type);
      if (len > max)
        throw new FramerError(`PDU of type 0x${type.toString(16)} announces ${len} bytes, more than ${max}`);
      if (this.size < 6 + len) break;
      out.push(this.take(6 + len));
    }
    return out;
  }

  get pending(): number {
    return this.size;
  }

  /** The byte at offset `i` of what is held. */
  private byte(i: number): number {
    for (const p of this.parts) {
      if (i < p.length) return p[i];
      i -= p.length;
    }
    return 0;
  }

  /** The first `n` bytes held, without a copy when one read holds them all. */
  private take(n: number): Uint8Array {
    this.size -= n;
    const first = this.parts[0];
    if (first.length >= n) {
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const p = this.parts[0];
      const k = Math.min(p.length, n - o);
      out.set(k === p.length ? p : p.subarray(0, k), o);
      o += k;
      if (k === p.length) this.parts.shift();
      else this.parts[0] = p.subarray(k);
    }
    return out;
  }
}

/** A PDU announcing more bytes than we accept. */
export class FramerError extends LanternError {
  constructor(message: string) {
    super('LNT_DIMSE_PDU', message);
  }
}
