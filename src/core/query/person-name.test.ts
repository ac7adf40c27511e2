import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/helpers/mutate.js';
import { Tag } from '../dicom/dictionary.js';
import { matchKey } from './match.js';
import {
  exactNameLookups,
  foldName,
  fuzzyNameMatch,
  indexLookup,
  nameKeys,
  nameQuery,
} from './person-name.js';

describe('fuzzy person name matching', () => {
  it.each([
    ['doe', 'DOE^JOHN^A^DR^JR', true],
    ['Doe^John', 'DOE^JOHN^A^DR^JR', true],
    ['doe^j', 'DOE^JOHN^A^DR^JR', true],
    ['^john', 'DOE^JOHN^A^DR^JR', true],
    ['john', 'DOE^JOHN^A^DR^JR', false], // a lone key is the family name
    ['doe^jane', 'DOE^JOHN^A^DR^JR', true], // JANE sounds as JOHN in Double Metaphone
    ['doe^mary', 'DOE^JOHN^A^DR^JR', false],
    ['garcia', 'García^José María', true],
    ['GARCIA^JOSE', 'García^José María', true],
    ['garcia^maria', 'García^José María', true], // any word of the component
    ['lopez', 'García López^Ana', true],
    ['smyth', 'Smith^Anne', true], // by sound
    ['smith', 'Smyth^Anne', true],
    ['schmidt^katherine', 'Schmitt^Catherine', true],
    ['mueller', 'Müller^Hans', true],
    ['jones', 'Smith^Anne', false],
    ['yamada', 'Yamada^Tarou=山田^太郎=やまだ^たろう', true],
    ['山田', 'Yamada^Tarou=山田^太郎=やまだ^たろう', true],
    ['やまだ^たろう', 'Yamada^Tarou=山田^太郎=やまだ^たろう', true],
    ['gar*a', 'García^José', true],
    ['g?rcia', 'García^José', true],
    ['*ez', 'García López^Ana', true],
    ['o*', "O'Brien^Pat", true],
    ['obrien', "O'Brien^Pat", false],
    ['brien', "O'Brien^Pat", true],
    ['chan', 'Chen^Wei', true], // the same sound in Double Metaphone
    ['*', 'Anyone^At All', true],
    ['do', 'Day^Doris', false], // two letters: no sound match, no prefix
  ])('%s ~ %s: %s', (query, stored, expected) => {
    expect(fuzzyNameMatch(query, stored)).toBe(expected);
  });

  it('folds case and accents, and compatibility forms (full-width letters)', () => {
    expect(foldName('  García  López ')).toBe('GARCIA LOPEZ');
    expect(foldName('Ｇａｒｃｉａ')).toBe('GARCIA');
    expect(foldName('Ørsted')).toBe('ØRSTED'); // Ø is a letter, not O with a mark
  });

  it('every match the rule finds, the index keys find as candidates', () => {
    const names = [
      'DOE^JOHN^A^DR^JR',
      'García López^José María',
      'Smith^Anne',
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
      "O'Brien^Pat",
      'Müller-Lüdenscheidt^Hans',
    ];
    const queries = [
      'doe',
      'garcia^maria',
      'lopez',
      'smyth',
      '山田',
      'brien',
      'ludenscheidt',
      'gar*',
      'mul*^h',
    ];
    for (const stored of names) {
      const keys = nameKeys(stored);
      for (const q of queries) {
        if (!fuzzyNameMatch(q, stored)) continue;
        for (const k of nameQuery(q)) {
          const l = indexLookup(k);
          if (!l) continue;
          const found = keys.some((key) => key.startsWith(l.prefix) || l.exact.includes(key));
          expect(found, `${q} -> ${stored}`).toBe(true);
        }
      }
    }
  });

  it('every exact (not fuzzy) match, the index keys find as candidates: random keys cut from real names', () => {
    const names = [
      'DOE^JOHN^A^DR^JR',
      'Straße^Anna',
      'García López^José María',
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
      "O'Brien^Pat",
      '^Given Only',
      'Smith  ^ Anne',
    ];
    const rnd = prng(7);
    let checked = 0;
    for (let n = 0; n < 20_000; n++) {
      const stored = names[Math.floor(rnd() * names.length)];
      const groups = stored.split('=');
      // A key: the whole value or one group, a random part of it kept, wildcards put in at random.
      const source = rnd() < 0.2 ? stored : groups[Math.floor(rnd() * groups.length)];
      let key = [...source]
        .map((c) => (rnd() < 0.1 ? '?' : c))
        .join('')
        .slice(0, 1 + Math.floor(rnd() * source.length));
      if (rnd() < 0.6) key += '*';
      const attr = {
        vr: 'PN',
        Value: [{ Alphabetic: groups[0], Ideographic: groups[1], Phonetic: groups[2] }],
      };
      if (!matchKey({ tag: Tag.PatientName, vr: 'PN', value: key }, attr as never)) continue;
      checked++;
      const keys = nameKeys(stored);
      for (const l of exactNameLookups(key))
        expect(
          keys.some((k) => k.startsWith(l.prefix)),
          `${key} -> ${stored}`,
        ).toBe(true);
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
