import { Tag, tagHex } from '../dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../dicom/json.js';
import type { QueryKey } from './keys.js';
import { fuzzyNameMatch } from './person-name.js';
import { wildcardMatch } from './wildcard.js';

export { wildcardMatch };

export interface MatchOptions {
  /** Person names match fuzzily (the requester asked for fuzzy semantic matching): person-name.ts. */
  readonly fuzzy?: boolean;
}

/** True when the key matches nothing in particular: universal matching (PS3.4 C.2.2.2.3). */
export function isUniversal(key: QueryKey): boolean {
  if (key.items) return key.items.every(isUniversal);
  return key.value === '' || key.value === '*';
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/** Pads a TM value to HHMMSS.FFFFFF; `high` fills missing precision with its maximum (a range end). */
function normTime(t: string, high: boolean): string {
  const [hms, frac = ''] = t.split('.');
  const fill = high ? '595959'.slice(hms.length - 2) : '000000'.slice(hms.length - 2);
  const digits = (hms + (hms.length < 6 ? fill.slice(0, 6 - hms.length) : '')).padEnd(6, high ? '9' : '0');
  return `${digits.slice(0, 6)}.${frac.padEnd(6, high ? '9' : '0')}`;
}

/** Pads a DT value (without offset) to YYYYMMDDHHMMSS.FFFFFF. */
function normDateTime(t: string, high: boolean): string {
  const s = t.replace(/[+-]\d{4}$/, '');
  const [main, frac = ''] = s.split('.');
  const lowFill = '00000101000000';
  const highFill = '99991231235959';
  const full = main + (high ? highFill : lowFill).slice(main.length);
  return `${full}.${frac.padEnd(6, high ? '9' : '0')}`;
}

function inRange(key: string, value: string, norm: (s: string, high: boolean) => string): boolean {
  const dash = key.indexOf('-');
  if (dash < 0) return norm(value, false) >= norm(key, false) && norm(value, false) <= norm(key, true);
  const lo = key.slice(0, dash);
  const hi = key.slice(dash + 1);
  const v = norm(value, false);
  if (lo && v < norm(lo, false)) return false;
  if (hi && v > norm(hi, true)) return false;
  return true;
}

function matchDate(key: string, value: string): boolean {
  const v = value.replace(/\./g, '');
  const dash = key.indexOf('-');
  if (dash < 0) return v === key;
  const lo = key.slice(0, dash);
  const hi = key.slice(dash + 1);
  return (!lo || v >= lo) && (!hi || v <= hi);
}

/** String form of each stored value, as matching sees it. */
function storedStrings(attr: JsonAttribute): string[] {
  if (!attr.Value) return [];
  return attr.Value.map((v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') {
      const pn = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      const groups = [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''];
      while (groups.length && groups[groups.length - 1] === '') groups.pop();
      return groups.join('=');
    }
    return String(v);
  });
}

function matchOne(key: QueryKey, value: string, options: MatchOptions): boolean {
  const k = key.value;
  switch (key.vr) {
    case 'DA':
      return matchDate(k, value);
    case 'TM':
      return value !== '' && inRange(k, value, normTime);
    case 'DT':
      return value !== '' && inRange(k, value, normDateTime);
    case 'UI':
      return k.split('\\').includes(value);
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'IS':
    case 'DS':
    case 'FL':
    case 'FD':
      return Number(k) === Number(value);
    case 'PN': {
      // Fuzzy: component by component, without case or accents, by prefix or sound (person-name.ts).
      if (options.fuzzy) return fuzzyNameMatch(k, value);
      if (matchText(k, value, false)) return true;
      // A name also matches on any one of its component groups (alphabetic, ideographic, phonetic).
      return value.split('=').some((g) => g !== '' && matchText(k, g, false));
    }
    default:
      return matchText(k, value, false);
  }
}

function matchText(key: string, value: string, caseInsensitive: boolean): boolean {
  if (hasWildcard(key)) return wildcardMatch(key, value, caseInsensitive);
  return caseInsensitive ? key.toLocaleUpperCase() === value.toLocaleUpperCase() : key === value;
}

/** Does one key match the stored attribute (absent: undefined)? Multi-valued attributes match on any value. */
export function matchKey(
  key: QueryKey,
  attr: JsonAttribute | undefined,
  options: MatchOptions = {},
): boolean {
  if (isUniversal(key)) return true;
  if (!attr) return false;
  if (key.items) {
    const items = (attr.Value ?? []) as JsonDataset[];
    return items.some((item) => key.items!.every((k) => matchKey(k, item[tagHex(k.tag)], options)));
  }
  const values = storedStrings(attr);
  // Modalities in Study takes a list (CT\MR): a study matches when any of its modalities is any of them.
  if (key.tag === Tag.ModalitiesInStudy && key.value.includes('\\')) {
    const wanted = key.value.split('\\');
    return wanted.some((w) => values.some((v) => matchOne({ ...key, value: w }, v, options)));
  }
  return values.some((v) => matchOne(key, v, options));
}

/** Does every key match the stored dataset? */
export function matchAll(keys: readonly QueryKey[], ds: JsonDataset, options: MatchOptions = {}): boolean {
  for (const k of keys) if (!matchKey(k, ds[tagHex(k.tag)], options)) return false;
  return true;
}
