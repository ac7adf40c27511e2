import { describe, expect, it } from 'vitest';
import { Tag } from '../../../core/dicom/dictionary.js';
import { LanternError } from '../../../core/errors.js';
import { parseQido, qidoRequest, queryPairs } from './qido.js';
import { parseAccept } from './accept.js';

const parse = (q: string) => parseQido(queryPairs(q));

describe('QIDO-RS query parameters (PS3.18 8.3.4)', () => {
  it('decodes percent-encoding and keeps + as it is', () => {
    expect(queryPairs('PatientName=M%C3%BCller*&StudyTime=1000%2B0100&A=1+2')).toEqual([
      ['PatientName', 'Müller*'],
      ['StudyTime', '1000+0100'],
      ['A', '1+2'],
    ]);
  });

  it('takes keywords and tags, includefield lists and all, fuzzymatching, limit and offset', () => {
    const p = parse(
      'PatientID=X1&0020000D=1.2.3%5C1.2.4&includefield=00081030,StudyID&includefield=all&fuzzymatching=true&limit=10&offset=20',
    );
    expect(p.keys.map((k) => [k.tag, k.value])).toEqual([
      [Tag.PatientID, 'X1'],
      [Tag.StudyInstanceUID, '1.2.3\\1.2.4'],
      [Tag.StudyDescription, ''],
      [Tag.StudyID, ''],
    ]);
    expect(p).toMatchObject({ includeAll: true, fuzzy: true, limit: 10, offset: 20 });
  });

  it('takes orderby as dcm4chee does: keywords or tags, comma lists, - for descending', () => {
    const p = parse('orderby=-StudyDate,PatientName&orderby=00080050&orderby=-StudyDate');
    expect(p.orderBy).toEqual([
      { tag: Tag.StudyDate, descending: true },
      { tag: Tag.PatientName, descending: false },
      { tag: Tag.AccessionNumber, descending: false },
    ]);
    expect(qidoRequest('STUDY', p, {}).orderBy).toEqual(p.orderBy);
    expect(qidoRequest('STUDY', parse('PatientID=1'), {}).orderBy).toBeUndefined();
  });

  it('turns a dotted path into a sequence match', () => {
    const [k] = parse('OtherPatientIDsSequence.PatientID=ABC').keys;
    expect(k).toEqual({
      tag: Tag.OtherPatientIDsSequence,
      vr: 'SQ',
      value: '',
      items: [{ tag: Tag.PatientID, vr: 'LO', value: 'ABC' }],
    });
  });

  it('adds the UIDs of the path as keys, replacing the same keys in the query', () => {
    const r = qidoRequest('IMAGE', parse('StudyInstanceUID=9.9&Modality=CT'), {
      study: '1.2',
      series: '1.2.3',
    });
    expect(r.keys.map((k) => [k.tag, k.value])).toEqual([
      [Tag.SeriesInstanceUID, '1.2.3'],
      [Tag.StudyInstanceUID, '1.2'],
      [Tag.Modality, 'CT'],
    ]);
  });

  it('refuses what it cannot honour with LNT_QUERY_INVALID and a reason', () => {
    for (const [q, why] of [
      ['StudyDate=20251301', /StudyDate/],
      ['Nonsense=1', /not a known attribute/],
      ['PatientID.PatientName=x', /not a sequence/],
      ['limit=0', /limit/],
      ['offset=-3', /offset/],
      ['fuzzymatching=yes', /fuzzymatching/],
      ['PatientID=a&PatientID=b', /twice/],
      ['PatientName=%E0%A4%A', /percent-encoding/],
      ['orderby=-Nonsense', /not a known attribute/],
      ['orderby=StudyDate,PatientName,PatientID,AccessionNumber,StudyID', /at most 4/],
    ] as const) {
      let err: unknown;
      try {
        parse(q);
      } catch (e) {
        err = e;
      }
      expect(err, q).toBeInstanceOf(LanternError);
      expect((err as LanternError).code).toBe('LNT_QUERY_INVALID');
      expect((err as Error).message, q).toMatch(why);
    }
  });
});

describe('Accept headers', () => {
  it('orders media ranges by quality and keeps quoted parameters', () => {
    const r = parseAccept(
      'application/json;q=0.5, multipart/related; type="application/dicom"; transfer-syntax=*',
    );
    expect(r[0]).toEqual({
      type: 'multipart/related',
      params: { type: 'application/dicom', 'transfer-syntax': '*' },
      q: 1,
    });
    expect(r[1].type).toBe('application/json');
    expect(parseAccept(undefined)[0].type).toBe('*/*');
  });
});
