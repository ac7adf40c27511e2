import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pydicomDataDir } from '../../../test/helpers/corpus.js';
import { CharacterSets } from './charset.js';
import { Tag } from './dictionary.js';
import { parseDicom } from './parser.js';
import { getString, getStrings, splitPersonName } from './values.js';

const charsetFile = (name: string) =>
  parseDicom(readFileSync(join(pydicomDataDir(), 'charset_files', name))).dataset;

describe('ISO 2022 code extensions, checked against the examples of PS3.5 Annexes H, I and K', () => {
  // The DCMTK build used as a test peer cannot convert these to UTF-8, so the standard's text is the reference.
  it('H.3.1: Japanese, JIS X 0208 in G0 (chrH31)', () => {
    expect(getString(charsetFile('chrH31.dcm'), Tag.PatientName)).toBe(
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
    );
  });
  it('H.3.2: Japanese, JIS X 0201 katakana and JIS X 0208 (chrH32)', () => {
    expect(getString(charsetFile('chrH32.dcm'), Tag.PatientName)).toBe('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
  });
  it('I.2: Korean, KS X 1001 in G1 (chrI2)', () => {
    expect(getString(charsetFile('chrI2.dcm'), Tag.PatientName)).toBe('Hong^Gildong=洪^吉洞=홍^길동');
  });
  it('a sequence item with its own character set (chrSQEncoding1)', () => {
    const ds = charsetFile('chrSQEncoding1.dcm');
    const item = ds.elements.find((e) => e.items)!.items![0].dataset;
    expect(getString(item, Tag.PatientName)).toBe('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
  });
  it('multi-valued Japanese text resets to the initial set at each delimiter (chrJapMulti)', () => {
    const ds = charsetFile('chrJapMulti.dcm');
    expect(getString(ds, Tag.PatientName)).toBe('やまだ^たろう');
    expect(getStrings(ds, Tag.StudyDescription)).toEqual(['Chest']);
  });
  it('JIS X 0212 (ISO 2022 IR 159) in G0', () => {
    // ESC $ ( D, then JIS X 0212 0x3021 (U+4E02), then ESC ( B
    const cs = CharacterSets.fromValue('\\ISO 2022 IR 159');
    const bytes = Uint8Array.from([0x1b, 0x24, 0x28, 0x44, 0x30, 0x21, 0x1b, 0x28, 0x42, 0x5e, 0x41]);
    expect(cs.decode(bytes, 'PN')).toBe('丂^A');
  });
  it('K.2: Simplified Chinese, GB 2312 in G1 (ISO 2022 IR 58)', () => {
    const cs = CharacterSets.fromValue('\\ISO 2022 IR 58');
    const esc = [0x1b, 0x24, 0x29, 0x41];
    const bytes = Uint8Array.from([
      ...Buffer.from('Zhang^XiaoDong='),
      ...esc,
      0xd5,
      0xc5,
      0x5e,
      ...esc,
      0xd0,
      0xa1,
      0xb6,
      0xab,
      0x3d,
    ]);
    expect(cs.decode(bytes, 'PN')).toBe('Zhang^XiaoDong=张^小东=');
  });
});

describe('character sets without code extensions', () => {
  it('GB18030 and GBK (PS3.5 J)', () => {
    const text = 'Wang^XiaoDong=王^小东=';
    for (const term of ['GB18030', 'GBK']) {
      const cs = CharacterSets.fromValue(term);
      expect(cs.decode(cs.encode(text, 'PN'), 'PN')).toBe(text);
    }
    expect(CharacterSets.fromValue('GB18030').encode('王', 'PN')).toEqual(Uint8Array.from([0xcd, 0xf5]));
  });
  it.each([
    ['ISO_IR 100', 'Buc^Jérôme', [0xe9]],
    ['ISO_IR 101', 'Wałęsa', [0xb3]],
    ['ISO_IR 144', 'Люкceмбypг', [0xbb]],
    ['ISO_IR 126', 'Διονυσιος', [0xc4]],
    ['ISO_IR 127', 'قباني', [0xe2]],
    ['ISO_IR 138', 'שרון', [0xf9]],
    ['ISO_IR 148', 'Çağrı', [0xc7]],
    ['ISO_IR 203', 'Œuvre €', [0xbc]],
    ['ISO_IR 166', 'สวัสดี', [0xca]],
  ])('%s round-trips and uses its own code points', (term, text, firstNonAscii) => {
    const cs = CharacterSets.fromValue(term);
    const bytes = cs.encode(text, 'LO');
    expect(cs.decode(bytes, 'LO')).toBe(text);
    expect([...bytes].find((b) => b >= 0x80)).toBe(firstNonAscii[0]);
  });
  it('ISO_IR 13: half-width katakana and JIS X 0201 romaji', () => {
    const cs = CharacterSets.fromValue('ISO_IR 13');
    expect(cs.decode(Uint8Array.from([0xd4, 0xcf, 0xc0, 0xde, 0x5c]), 'LO')).toBe('ﾔﾏﾀﾞ¥');
  });
  it('refuses a value its character set cannot hold', () => {
    expect(() => CharacterSets.fromValue('ISO_IR 100').encode('山田', 'PN')).toThrow(/cannot be encoded/);
  });
  it('encodes Japanese with ISO 2022 escapes that decode back', () => {
    const cs = CharacterSets.fromValue('\\ISO 2022 IR 87');
    const text = 'Yamada^Tarou=山田^太郎=やまだ^たろう';
    expect(cs.decode(cs.encode(text, 'PN'), 'PN')).toBe(text);
  });
});

describe('person names', () => {
  it('split into alphabetic, ideographic and phonetic groups', () => {
    expect(splitPersonName('Yamada^Tarou=山田^太郎=やまだ^たろう')).toEqual({
      Alphabetic: 'Yamada^Tarou',
      Ideographic: '山田^太郎',
      Phonetic: 'やまだ^たろう',
    });
    expect(splitPersonName('=김희중')).toEqual({ Ideographic: '김희중' });
  });
});
