import { describe, expect, it } from 'vitest';
import { FramerError, PduFramer } from './pdu-framer.js';

function pdu(type: number, body: number[]): Uint8Array {
  const b = new Uint8Array(6 + body.length);
  b[0] = type;
  new DataView(b.buffer).setUint32(2, body.length);
  b.set(body, 6);
  return b;
}

describe('PduFramer', () => {
  const a = pdu(0x04, [1, 2, 3, 4, 5]);
  const b = pdu(0x04, []);
  const c = pdu(
    0x05,
    Array.from({ length: 300 }, (_, i) => i & 0xff),
  );
  const stream = Buffer.concat([a, b, c]);

  it('returns the same PDUs however the stream is cut: at every byte, in one piece, byte by byte', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new PduFramer(() => 1000);
      const out = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(out.map((p) => Buffer.from(p))).toEqual([a, b, c].map((p) => Buffer.from(p)));
      expect(f.pending).toBe(0);
    }
    const f = new PduFramer(() => 1000);
    const out: Uint8Array[] = [];
    for (const byte of stream) out.push(...f.push(Uint8Array.of(byte)));
    expect(out.map((p) => Buffer.from(p))).toEqual([a, b, c].map((p) => Buffer.from(p)));
  });

  it('holds an incomplete PDU and counts its bytes', () => {
    const f = new PduFramer(() => 1000);
    expect(f.push(c.subarray(0, 100))).toEqual([]);
    expect(f.pending).toBe(100);
    expect(f.push(new Uint8Array(0))).toEqual([]);
    expect(f.push(c.subarray(100)).map((p) => Buffer.from(p))).toEqual([Buffer.from(c)]);
  });

  it('refuses a PDU announcing more than its type allows, before its body arrives', () => {
    const f = new PduFramer((type) => (type === 0x05 ? 100 : 1000));
    expect(() => f.push(c.subarray(0, 6))).toThrow(FramerError);
  });
});
