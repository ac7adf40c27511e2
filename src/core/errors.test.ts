import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, LanternError } from './errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  it('docs/errors.md lists every code with its HTTP and DIMSE status, and nothing else', () => {
    const documented = [
      ...doc.matchAll(/^\|\s*`(LNT_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*([0-9A-F]{4})H\s*\|/gm),
    ].map((m) => [m[1], Number(m[2]), parseInt(m[3], 16)]);
    const catalogue = Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.http, e.dimse]);
    expect(documented).toEqual(catalogue);
  });
  it('errors expose their code and statuses', () => {
    const e = new LanternError('LNT_NOT_FOUND', 'no such study');
    expect(e.code).toBe('LNT_NOT_FOUND');
    expect(e.httpStatus).toBe(404);
    expect(e.dimseStatus).toBe(0xa801);
  });
});
