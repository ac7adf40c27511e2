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
  // Plain loops: Array.from with a mapping function costs several times more on the ingest path.
  if (el.vr === 'SV' || el.vr === 'UV' || el.vr === 'OV') {
    const big: bigint[] = new Array<bigint>(n);
    for (let i = 0; i < n; i++)
      big[i] = el.vr === 'SV' ? dv.getBigInt64(i * 8, le) : dv.getBigUint64(i * 8, le);
    return big;
  }
  const out: number[] = new Array<number>(n);
  switch (el.vr) {
    case 'US':
    case 'OW':
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, le);
      return out;
    case 'SS':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, le);
      return out;
    case 'UL':
    case 'OL':
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, le);
      return out;
    case 'SL':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, le);
      return out;
    case 'FL':
    case 'OF':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, le);
      return out;
    case 'FD':
    case 'OD':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, le);
      return out;
    case 'AT':
      for (let i = 0; i < n; i++)
        out[i] = ((dv.getUint16(i * 4, le) << 16) | dv.getUint16(i * 4 + 2, le)) >>> 0;
      return out;
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
