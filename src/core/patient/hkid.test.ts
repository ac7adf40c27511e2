import { describe, expect, it } from 'vitest';
import { checkHkid, normalizeHkid } from './hkid.js';

describe('HKID numbers', () => {
  it('accepts a valid number however it is written, and normalises it', () => {
    for (const written of ['A123456(3)', 'a123456(3)', 'A 123456 (3)', 'A1234563', ' a123456 3 '])
      expect(checkHkid(written)).toEqual({ ok: true, value: 'A1234563' });
    expect(normalizeHkid('ab 987654 (0)')).toBe('AB9876540');
  });

  it('refuses a wrong check digit, naming the right one', () => {
    const r = checkHkid('A123456(4)');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/check digit does not hold \(A123456 has check digit 3\)/);
  });

  it('computes two-letter numbers and the check digit A', () => {
    // Two letters: no space prefix. C668668(E) is not a digit; A is 10.
    const check = (letters: string, digits: string) => {
      for (const c of '0123456789A') if (checkHkid(`${letters}${digits}(${c})`).ok) return c;
      return undefined;
    };
    // Worked by hand: ' ' 36*9 + A 10*8 + 1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2 = 481; 481 mod 11 = 8; 11 - 8 = 3.
    expect(check('A', '123456')).toBe('3');
    // X=33: 33*9 + Y=34*8 + 9*7 + 8*6 + 7*5 + 6*4 + 5*3 + 4*2 = 297+272+63+48+35+24+15+8 = 762; 762 mod 11 = 3; 8.
    expect(check('XY', '987654')).toBe('8');
    // The check digit 10 is written A: find a number whose sum mod 11 is 1.
    // ' ' 324 + B 11*8=88 + 0*7 + 0*6 + 0*5 + 0*4 + 0*3 + d*2: 412 + 2d; 412 mod 11 = 5; 2d = 7 mod 11 -> d = 9: 430 mod 11 = 1.
    expect(check('B', '000009')).toBe('A');
    expect(checkHkid('B000009(A)')).toEqual({ ok: true, value: 'B000009A' });
  });

  it('refuses what is not an HKID number at all', () => {
    for (const bad of ['', '123456(3)', 'ABC123456(3)', 'A12345(3)', 'A1234567(3)', 'A123456(B)', 'A123456'])
      expect(checkHkid(bad).ok, bad).toBe(false);
  });
});
