import { type CharacterSets, latin1 } from './charset.js';
import type { DataElement, Dataset } from './dataset.js';
import { isSingleValuedText, isStringVr, usesCharacterSet, valueWidth, type Vr } from './vr.js';

/** VRs whose leading spaces are significant (PS3.5 Table 6.2-1): only trailing padding is removed. */
const KEEP_LEADING: ReadonlySet<Vr> = new Set<Vr>(['LT', 'ST', 'UT', 'UC', 'PN', 'UR']);

/** Removes the padding and insignificant spaces of one string value. */
export function trimValue(s: string, vr: Vr): string {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c === 0x20 || c === 0x00) end--;
    else break;
  }
  let start = 0;
  if (!KEEP_LEADING.has(vr)) {
    while (start < end && s.charCodeAt(start) === 0x20) start++;
  }
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** The whole decoded text of a string element (all values, delimiters included), untrimmed. */
export function rawString(el: DataElement, charset: CharacterSets): string {
  if (!el.value) return '';
  return usesCharacterSet(el.vr) ? charset.decode(el.value, el.vr) : latin1(el.value);
}

/** The values of a string element, trimmed. An empty value stays as ''. */
export function stringValues(el: DataElement, charset: CharacterSets): string[] {
  if (!el.value || el.value.length === 0) return [];
  const text = rawString(el, charset);
  if (isSingleValuedText(el.vr)) return [trimValue(text, el.vr)];
  return text.split('\\').map((v) => trimValue(v, el.vr));
}

/** Numeric values of a binary element (US, SS, UL, SL, FL, FD, SV, UV; OW/OF/OD/OL/OV as arrays). */
export function numberValues(el: DataElement, littleEndian: boolean): number[] | bigint[] {
  const v = el.value;
  if (!v || v.length === 0) return [];
  const size = valueWidth(el.vr);
  if (!size) return [];
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const n = Math.floor(v.length / size);
  const le = littleEndian;
  switch (el.vr) {
    case 'US':
    case 'OW':
      return Array.from({ length: n }, (_, i) => dv.getUint16(i * 2, le));
    case 'SS':
      return Array.from({ length: n }, (_, i) => dv.getInt16(i * 2, le));
    case 'UL':
    case 'OL':
      return Array.from({ length: n }, (_, i) => dv.getUint32(i * 4, le));
    case 'SL':
      return Array.from({ length: n }, (_, i) => dv.getInt32(i * 4, le));
    case 'FL':
    case 'OF':
      return Array.from({ length: n }, (_, i) => dv.getFloat32(i * 4, le));
    case 'FD':
    case 'OD':
      return Array.from({ length: n }, (_, i) => dv.getFloat64(i * 8, le));
    case 'SV':
      return Array.from({ length: n }, (_, i) => dv.getBigInt64(i * 8, le));
    case 'UV':
    case 'OV':
      return Array.from({ length: n }, (_, i) => dv.getBigUint64(i * 8, le));
    case 'AT':
      return Array.from(
        { length: n },
        (_, i) => ((dv.getUint16(i * 4, le) << 16) | dv.getUint16(i * 4 + 2, le)) >>> 0,
      );
    default:
      return [];
  }
}

/** The first value of a string attribute, or undefined when absent or empty. */
export function getString(ds: Dataset, tag: number): string | undefined {
  const el = ds.get(tag);
  if (!el) return undefined;
  if (!isStringVr(el.vr) && el.vr !== 'UN') return undefined;
  const vals = stringValues(el.vr === 'UN' ? { ...el, vr: 'LO' } : el, ds.charset);
  return vals.length && vals[0] !== '' ? vals[0] : undefined;
}

export function getStrings(ds: Dataset, tag: number): string[] {
  const el = ds.get(tag);
  return el ? stringValues(el, ds.charset) : [];
}

/** The first value of a numeric attribute, binary (US, UL, ...) or string (IS, DS). */
export function getNumber(ds: Dataset, tag: number): number | undefined {
  const el = ds.get(tag);
  if (!el) return undefined;
  if (el.vr === 'IS' || el.vr === 'DS') {
    const s = stringValues(el, ds.charset)[0];
    if (s === undefined || s === '') return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }
  const vals = numberValues(el, ds.encoding.littleEndian);
  if (!vals.length) return undefined;
  return Number(vals[0]);
}

/** Person name components: up to three groups (alphabetic, ideographic, phonetic), five parts each. */
export interface PersonName {
  readonly Alphabetic?: string;
  readonly Ideographic?: string;
  readonly Phonetic?: string;
}

export function splitPersonName(value: string): PersonName {
  const [a, i, p] = value.split('=');
  const out: { Alphabetic?: string; Ideographic?: string; Phonetic?: string } = {};
  if (a) out.Alphabetic = a;
  if (i) out.Ideographic = i;
  if (p) out.Phonetic = p;
  return out;
}

export function joinPersonName(pn: PersonName): string {
  const groups = [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''];
  while (groups.length && groups[groups.length - 1] === '') groups.pop();
  return groups.join('=');
}

/** The five components of one name group: family, given, middle, prefix, suffix. */
export function nameComponents(group: string): [string, string, string, string, string] {
  const c = group.split('^');
  return [c[0] ?? '', c[1] ?? '', c[2] ?? '', c[3] ?? '', c[4] ?? ''];
}
