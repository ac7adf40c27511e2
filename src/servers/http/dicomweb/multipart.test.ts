import { describe, expect, it } from 'vitest';
import { type MultipartEvent, MultipartParser, readParts } from './multipart.js';

const B = 'b0und4ry';

function body(parts: { headers: string; data: Buffer }[], preamble = ''): Buffer {
  const out: Buffer[] = [Buffer.from(preamble)];
  for (const p of parts) out.push(Buffer.from(`--${B}\r\n${p.headers}\r\n`), p.data, Buffer.from('\r\n'));
  out.push(Buffer.from(`--${B}--\r\nepilogue`));
  return Buffer.concat(out);
}

/** Feeds `input` in the given pieces and collects what each part held. */
function collect(pieces: Buffer[]): { headers: Record<string, string>; data: Buffer }[] {
  const p = new MultipartParser(B);
  const events: MultipartEvent[] = [];
  for (const piece of pieces) events.push(...p.push(piece));
  events.push(...p.end());
  const parts: { headers: Record<string, string>; data: Buffer[] }[] = [];
  for (const e of events) {
    if (e.type === 'headers') parts.push({ headers: e.headers, data: [] });
    else if (e.type === 'data') parts[parts.length - 1].data.push(Buffer.from(e.bytes));
  }
  return parts.map((x) => ({ headers: x.headers, data: Buffer.concat(x.data) }));
}

// Binary data that holds CR, LF, dashes and most of the boundary, but never the whole delimiter.
const tricky = Buffer.concat([
  Buffer.from(`\r\n--${B.slice(0, -1)}X\r\n\r\n--`),
  Buffer.from([0, 1, 2, 13, 10, 45, 45, 255]),
  Buffer.from(`\r\n-${B}`),
]);
const sample = body(
  [
    { headers: 'Content-Type: application/dicom\r\n', data: tricky },
    { headers: 'Content-Type: application/dicom\r\nContent-Length: 3\r\n', data: Buffer.from('abc') },
    { headers: '', data: Buffer.alloc(0) },
  ],
  'preamble text\r\n',
);

describe('multipart/related reader', () => {
  it('reads parts, headers and binary bodies that resemble the delimiter', () => {
    const parts = collect([sample]);
    expect(parts).toHaveLength(3);
    expect(parts[0].headers).toEqual({ 'content-type': 'application/dicom' });
    expect(parts[0].data.equals(tricky)).toBe(true);
    expect(parts[1].headers['content-length']).toBe('3');
    expect(parts[1].data.toString()).toBe('abc');
    expect(parts[2]).toEqual({ headers: {}, data: Buffer.alloc(0) });
  });

  it('gives the same result split at every byte offset, and fed a byte at a time', () => {
    const whole = collect([sample]);
    for (let i = 0; i <= sample.length; i++) {
      expect(collect([sample.subarray(0, i), sample.subarray(i)]), `split at ${i}`).toEqual(whole);
    }
    expect(collect([...sample].map((b) => Buffer.from([b])))).toEqual(whole);
  });

  it('refuses a body that never closes, has no boundary, or has oversized part headers', () => {
    expect(() => collect([sample.subarray(0, sample.length - 14)])).toThrow(/closing boundary/);
    expect(() => collect([Buffer.from('no boundary here')])).toThrow(/no multipart boundary/);
    const huge = Buffer.from(`--${B}\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\nzz\r\n--${B}--`);
    expect(() => collect([huge])).toThrow(/headers are too large/);
    expect(() => collect([Buffer.from(`--${B}\r\nno colon\r\n\r\nzz\r\n--${B}--`)])).toThrow(/part header/);
  });

  it('streams parts one by one, skipping bodies left unread', async () => {
    async function* source() {
      for (let i = 0; i < sample.length; i += 7) yield sample.subarray(i, i + 7);
    }
    const seen: string[] = [];
    let n = 0;
    for await (const part of readParts(source(), B)) {
      n++;
      if (n === 2) {
        const chunks: Uint8Array[] = [];
        for await (const c of part.body) chunks.push(c);
        seen.push(Buffer.concat(chunks).toString());
      }
    }
    expect(n).toBe(3);
    expect(seen).toEqual(['abc']);
  });
});
