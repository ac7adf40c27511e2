import { expect } from 'vitest';
import { readParts } from '../../src/servers/http/dicomweb/multipart.js';

/** The parts of a multipart response, each as bytes with its headers. */
export async function multipartParts(
  res: Response,
): Promise<{ headers: Record<string, string>; bytes: Buffer }[]> {
  const boundary = /boundary=([^;]+)/.exec(res.headers.get('content-type') ?? '')?.[1];
  expect(boundary, `no multipart boundary (status ${res.status})`).toBeTruthy();
  const out: { headers: Record<string, string>; bytes: Buffer }[] = [];
  for await (const part of readParts(res.body as unknown as AsyncIterable<Uint8Array>, boundary!)) {
    const chunks: Uint8Array[] = [];
    for await (const c of part.body) chunks.push(c);
    out.push({ headers: part.headers, bytes: Buffer.concat(chunks) });
  }
  return out;
}
