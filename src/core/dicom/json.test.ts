import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pydicomDataDir, pydicomFiles } from '../../../test/helpers/corpus.js';
import { Tag } from './dictionary.js';
import { attributesToJson, fromJson, toJson, toJsonText } from './json.js';
import { parseDicom } from './parser.js';
import { getNumber, getString } from './values.js';

const testFile = (name: string) =>
  parseDicom(readFileSync(join(pydicomDataDir(), 'test_files', name))).dataset;

describe('DICOM JSON model (PS3.18 F)', () => {
  it('writes strings, numbers, person names, sequences and bulk data as the standard says', () => {
    const ds = testFile('CT_small.dcm');
    const json = toJson(ds, {
      bulkDataUri: (path) => (path[0] === Tag.PixelData ? 'http://x/bulk/7FE00010' : undefined),
    });
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^CT1' }] });
    expect(json['00280010']).toEqual({ vr: 'US', Value: [128] });
    expect(json['00080008']).toEqual({ vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] });
    expect(json['00080050']).toEqual({ vr: 'SH' });
    expect(json['00101002'].Value).toHaveLength(2);
    expect(json['7FE00010']).toEqual({ vr: 'OW', BulkDataURI: 'http://x/bulk/7FE00010' });
    expect(typeof (json['00200032'].Value as unknown[])[0]).toBe('number');
  });

  it('writes the same model as text directly, for every sample file that parses', () => {
    let compared = 0;
    for (const file of pydicomFiles()) {
      let ds;
      try {
        ds = parseDicom(readFileSync(file), { bulkDataThreshold: 1024 }).dataset;
      } catch {
        continue; // deliberately broken samples
      }
      expect(JSON.parse(toJsonText(ds)), file).toEqual(JSON.parse(JSON.stringify(toJson(ds))));
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('writes chosen attributes only', () => {
    const ds = testFile('CT_small.dcm');
    const json = toJson(ds);
    const some = attributesToJson(ds, [Tag.PatientName, Tag.Rows, Tag.AccessionNumber, Tag.StudyID]);
    expect(Object.keys(some)).toEqual(['00100010', '00280010', '00080050', '00200010']);
    expect(some['00100010']).toEqual(json['00100010']);
  });

  it('reads back what it wrote', () => {
    const ds = testFile('CT_small.dcm');
    const json = toJson(ds);
    const back = fromJson(JSON.parse(JSON.stringify(json)));
    expect(getString(back, Tag.PatientName)).toBe('CompressedSamples^CT1');
    expect(getNumber(back, Tag.Rows)).toBe(128);
    expect(toJson(back)).toEqual(json);
  });

  it('keeps ideographic and phonetic name groups and non-Latin text', () => {
    const ds = parseDicom(readFileSync(join(pydicomDataDir(), 'charset_files', 'chrH31.dcm'))).dataset;
    const json = toJson(ds);
    expect(json['00100010'].Value).toEqual([
      { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' },
    ]);
    const back = fromJson(json);
    expect(getString(back, Tag.PatientName)).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
  });

  it('marks UTF-8 when non-ASCII text arrives without a character set', () => {
    const ds = fromJson({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Buc^Jérôme' }] } });
    expect(getString(ds, Tag.SpecificCharacterSet)).toBe('ISO_IR 192');
    expect(getString(ds, Tag.PatientName)).toBe('Buc^Jérôme');
  });

  it('rejects malformed documents with LNT_JSON_INVALID', () => {
    expect(() => fromJson([])).toThrow(/JSON object/);
    expect(() => fromJson({ PatientName: { vr: 'PN' } })).toThrow(/8 hexadecimal digits/);
    expect(() => fromJson({ '00100010': { vr: 'XX' } })).toThrow(/unknown vr/);
    expect(() => fromJson({ '00280010': { vr: 'US', Value: ['a'] } })).toThrow(/numbers/);
  });
});
