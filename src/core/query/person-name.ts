import { doubleMetaphone } from 'double-metaphone';
import { wildcardMatch } from './wildcard.js';

/**
 * Fuzzy person name matching, for people who type a name the way they heard it (PS3.4 C.2.2.2.1.1 leaves
 * "fuzzy semantic matching" to the implementation; this is Lantern's). A query `DOE^JOHN` has one key per
 * name component: family, given, middle, prefix, suffix, in that order. Each non-empty key must match the
 * same component of the stored name, in any of its component groups (alphabetic, ideographic, phonetic):
 * - compared without case or accents (Unicode NFKD with the combining marks removed): `garcia` is `García`;
 * - as the start of the component or of any word in it: `doe` finds `DOE^JOHN`, `lopez` finds `García López`;
 * - or, for Latin words of three letters or more, by sound (Double Metaphone): `smyth` finds `Smith`;
 * - with `*` and `?` as wildcards when the key has them (then no prefix or sound rule applies to that key).
 * The index keeps the same keys (nameKeys) so that the archive finds candidates without reading every name.
 */

/** Upper case, without accents or other combining marks, spaces collapsed. */
export function foldName(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toUpperCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** The words of a folded component: split at spaces, hyphens, commas, full stops and apostrophes. */
function words(folded: string): string[] {
  return folded.split(/[\s\-,.'’]+/u).filter(Boolean);
}

const LATIN = /^[A-Z]+$/;

/** The Double Metaphone codes of a word worth comparing by sound (Latin, three letters or more). */
export function soundsOf(word: string): string[] {
  if (word.length < 3 || !LATIN.test(word)) return [];
  const [a, b] = doubleMetaphone(word);
  // One-letter codes (DOE: T) would make nearly every short name alike: sound needs two sounds or more.
  return [...new Set([a, b])].filter((c) => c.length >= 2);
}

/** The components of each group of a stored PN value, folded. */
function storedComponents(value: string): string[][] {
  return value
    .split('=')
    .filter((g) => g !== '')
    .map((g) => g.split('^').map(foldName));
}

/** One query component, parsed. */
export interface NameKey {
  /** Component position: 0 family, 1 given, 2 middle, 3 prefix, 4 suffix. */
  readonly position: number;
  /** The folded key. */
  readonly text: string;
  readonly wildcard: boolean;
  /** Sound codes of the key (a single word only). */
  readonly sounds: readonly string[];
}

/** The keys of a fuzzy PN query (components that are empty or `*` match anything, and give no key). */
export function nameQuery(query: string): NameKey[] {
  // A query names one group: its first non-empty one (alphabetic, usually).
  const group = query.split('=').find((g) => g !== '') ?? '';
  const out: NameKey[] = [];
  group.split('^').forEach((c, position) => {
    const text = foldName(c);
    if (text === '' || /^\*+$/.test(text)) return;
    const wildcard = /[*?]/.test(text);
    const w = words(text);
    out.push({ position, text, wildcard, sounds: !wildcard && w.length === 1 ? soundsOf(w[0]) : [] });
  });
  return out;
}

function componentMatches(key: NameKey, component: string): boolean {
  if (key.wildcard)
    return wildcardMatch(key.text, component) || words(component).some((w) => wildcardMatch(key.text, w));
  if (component.startsWith(key.text)) return true;
  const ws = words(component);
  if (ws.some((w) => w.startsWith(key.text))) return true;
  if (!key.sounds.length) return false;
  return ws.some((w) => soundsOf(w).some((s) => key.sounds.includes(s)));
}

/** Does a stored PN value (groups joined by `=`) match the fuzzy query? */
export function fuzzyNameMatch(query: string | readonly NameKey[], stored: string): boolean {
  const keys = typeof query === 'string' ? nameQuery(query) : query;
  if (!keys.length) return true;
  return storedComponents(stored).some((components) =>
    keys.every((k) => componentMatches(k, components[k.position] ?? '')),
  );
}

/**
 * The index keys of a stored name, for finding fuzzy candidates by index lookups: for every component
 * group and position, `<position>:<word>` for each word (looked up by prefix) and the whole component, and
 * `<position>~<code>` for each sound code (looked up exactly).
 */
export function nameKeys(stored: string): string[] {
  const out = new Set<string>();
  for (const components of storedComponents(stored)) {
    components.forEach((c, position) => {
      if (!c) return;
      out.add(`${position}:${c}`);
      for (const w of words(c)) {
        out.add(`${position}:${w}`);
        for (const s of soundsOf(w)) out.add(`${position}~${s}`);
      }
    });
  }
  return [...out];
}

/**
 * What the index is asked for one query key: names with a key starting with `prefix` or equal to one of
 * `exact` (sound codes). A wildcard key asks by its text up to the first wildcard (empty: no narrowing).
 */
export function indexLookup(key: NameKey): { prefix: string; exact: string[] } | undefined {
  const head = key.wildcard ? key.text.slice(0, key.text.search(/[*?]/)) : key.text;
  if (!head) return undefined;
  // A multi-word key's prefix is the whole key: the whole component is indexed beside its words.
  return { prefix: `${key.position}:${head}`, exact: key.sounds.map((s) => `${key.position}~${s}`) };
}

/**
 * The index lookups that narrow an exact (not fuzzy) PN key to candidates: the key's first group up to its
 * first wildcard, component by component, folded. An exact match of the key, on the whole value or one of
 * its groups, has those components (the last one as a start), so the names found this way hold every
 * match. Empty: no narrowing.
 */
export function exactNameLookups(query: string): { prefix: string; exact: string[] }[] {
  const group = query.split('=')[0];
  const wildcard = group.search(/[*?]/);
  const head = wildcard < 0 ? group : group.slice(0, wildcard);
  return head
    .split('^')
    .map((c, position) => ({ text: foldName(c), position }))
    .filter((c) => c.text !== '')
    .map((c) => ({ prefix: `${c.position}:${c.text}`, exact: [] }));
}
