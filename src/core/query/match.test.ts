import { describe, expect, it } from 'vitest';
import { Tag } from '../dicom/dictionary.js';
import { QueryError } from '../errors.js';
import { validateKey, type QueryKey } from './keys.js';
import { matchKey, wildcardMatch } from './match.js';

const key = (tag: number, vr: QueryKey['vr'], value: string): QueryKey => ({ tag, vr, value });

describe('PS3.4 C.2.2.2 matching', () => {
  it('universal matching: an empty key or "*" matches even an absent attribute', () => {
    expect(matchKey(key(Tag.PatientName, 'PN', ''), undefined)).toBe(true);
    expect(matchKey(key(Tag.PatientName, 'PN', '*'), undefined)).toBe(true);
    expect(matchKey(key(Tag.PatientName, 'PN', 'A'), undefined)).toBe(false);
  });
  it('wildcards work on characters, including those outside the BMP', () => {
    expect(wildcardMatch('?', '𠀋')).toBe(true);
    expect(wildcardMatch('a.c', 'abc')).toBe(false);
    expect(wildcardMatch('a(b|c)+', 'ab')).toBe(false);
    expect(
      matchKey(key(Tag.StudyDescription, 'LO', 'CT*HEAD'), { vr: 'LO', Value: ['CT OF THE HEAD'] }),
    ).toBe(true);
  });
  it('multi-valued attributes match on any value', () => {
    expect(matchKey(key(Tag.ModalitiesInStudy, 'CS', 'MR'), { vr: 'CS', Value: ['CT', 'MR'] })).toBe(true);
  });
  it('time ranges respect precision', () => {
    const tm = (k: string, v: string) => matchKey(key(Tag.StudyTime, 'TM', k), { vr: 'TM', Value: [v] });
    expect(tm('0930-1000', '093015.123')).toBe(true);
    expect(tm('-10', '105959')).toBe(true);
    expect(tm('-10', '110000')).toBe(false);
    expect(tm('11-', '105959')).toBe(false);
  });
  it('date-time ranges', () => {
    const dt = (k: string, v: string) =>
      matchKey(key(Tag.AcquisitionDateTime, 'DT', k), { vr: 'DT', Value: [v] });
    expect(dt('20260101-20260131', '20260115101500')).toBe(true);
    expect(dt('202602-', '20260115')).toBe(false);
  });
});

describe('wildcards', () => {
  it('match as PS3.4 C.2.2.2.4 says, compared with a reference on every small pattern and value', () => {
    // The reference: a regular expression (fine for these short inputs), against the linear matcher.
    const reference = (p: string, v: string) =>
      new RegExp(`^${[...p].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c)).join('')}$`, 'su').test(v);
    const alphabet = ['a', 'b', '*', '?'];
    const all = (n: number): string[] =>
      n === 0 ? [''] : all(n - 1).flatMap((s) => alphabet.map((c) => s + c));
    const patterns = [0, 1, 2, 3, 4, 5].flatMap(all);
    const values = [0, 1, 2, 3, 4, 5].flatMap((n) => all(n).filter((s) => !/[*?]/.test(s)));
    for (const p of patterns)
      for (const v of values) expect(wildcardMatch(p, v), `${p} ~ ${v}`).toBe(reference(p, v));
  });
  it('30 wildcards against long values take linear work, not exponential', () => {
    const pattern = `${'*A'.repeat(29)}*B`;
    const value = 'A'.repeat(4000);
    // A backtracking matcher would not finish this in a lifetime; this one does O(pattern x value) steps.
    expect(wildcardMatch(pattern, value)).toBe(false);
    expect(wildcardMatch(pattern, `${value}B`)).toBe(true);
    expect(wildcardMatch('*a*', 'XAX', true)).toBe(true);
  });
  it('a value with more than 64 wildcards is refused with the reason', () => {
    expect(() => validateKey(Tag.StudyDescription, 'LO', '*'.repeat(65))).toThrow(/at most 64 wildcards/);
    expect(() => validateKey(Tag.StudyDescription, 'LO', '*A'.repeat(30))).not.toThrow();
  });
});

describe('key validation gives a reason for each bad value', () => {
  it.each([
    [Tag.StudyDate, 'DA', '20261301', /not a valid DA/],
    [Tag.StudyDate, 'DA', '2026-01-01', /not a valid DA value or range/],
    [Tag.StudyDate, 'DA', '20260201-20260101', /ends before it starts/],
    [Tag.StudyTime, 'TM', '2561', /not a valid TM/],
    [Tag.StudyInstanceUID, 'UI', '1.2.x', /not a valid UID/],
    [Tag.SeriesNumber, 'IS', 'three', /not an integer/],
  ] as const)('%s %s %s', (tag, vr, value, msg) => {
    expect(() => validateKey(tag, vr, value)).toThrow(QueryError);
    expect(() => validateKey(tag, vr, value)).toThrow(msg);
  });
  it('accepts valid values and universal keys', () => {
    expect(() => validateKey(Tag.StudyDate, 'DA', '20260101-')).not.toThrow();
    expect(() => validateKey(Tag.StudyInstanceUID, 'UI', '1.2.3\\1.2.4')).not.toThrow();
    expect(() => validateKey(Tag.StudyDate, 'DA', '')).not.toThrow();
  });
});
