import { describe, expect, it } from 'vitest';
import { Tag } from '../dicom/dictionary.js';
import { QueryError } from '../errors.js';
import { validateKey, type QueryKey } from './keys.js';
import { matchKey, wildcardRegExp } from './match.js';

const key = (tag: number, vr: QueryKey['vr'], value: string): QueryKey => ({ tag, vr, value });

describe('PS3.4 C.2.2.2 matching', () => {
  it('universal matching: an empty key or "*" matches even an absent attribute', () => {
    expect(matchKey(key(Tag.PatientName, 'PN', ''), undefined)).toBe(true);
    expect(matchKey(key(Tag.PatientName, 'PN', '*'), undefined)).toBe(true);
    expect(matchKey(key(Tag.PatientName, 'PN', 'A'), undefined)).toBe(false);
  });
  it('wildcards work on characters, including those outside the BMP', () => {
    expect(wildcardRegExp('?', false).test('𠀋')).toBe(true);
    expect(wildcardRegExp('a.c', false).test('abc')).toBe(false);
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
