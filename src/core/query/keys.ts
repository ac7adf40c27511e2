import type { DataElement, Dataset } from '../dicom/dataset.js';
import { formatTag, lookupTag, Tag } from '../dicom/dictionary.js';
import { rawString } from '../dicom/values.js';
import { isStringVr, type Vr } from '../dicom/vr.js';
import { QueryError } from '../errors.js';
import { isUid } from '../dicom/uid.js';

/**
 * One matching key of a query (PS3.4 C.2.2.2): the attribute and the value as the requester wrote it
 * (wildcards, ranges and UID lists included). `value` '' is universal matching (return the attribute).
 */
export interface QueryKey {
  readonly tag: number;
  readonly vr: Vr;
  readonly value: string;
  /** Sequence matching: the keys of the one item the requester sent (empty: universal). */
  readonly items?: readonly QueryKey[];
}

const DATE = /^\d{8}$/;
const TIME = /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/;
const DATETIME = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/;

function validDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const m = Number(s.slice(4, 6));
  const d = Number(s.slice(6, 8));
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

function validTime(s: string): boolean {
  if (!TIME.test(s)) return false;
  const h = Number(s.slice(0, 2));
  const mi = s.length >= 4 ? Number(s.slice(2, 4)) : 0;
  const se = s.length >= 6 ? Number(s.slice(4, 6)) : 0;
  return h < 24 && mi < 60 && se < 61;
}

/** Checks a key value against its VR's matching rules; raises LNT_QUERY_INVALID with the reason. */
/** The most `*` and `?` one matching value may hold (the longest string values are 64 characters). */
export const MAX_WILDCARDS = 64;
/** The longest matching value (a UID list or a long text); longer keys are refused, not truncated. */
export const MAX_KEY_LENGTH = 4096;

export function validateKey(tag: number, vr: Vr, value: string): void {
  if (value === '' || value === '*') return;
  const name = lookupTag(tag)?.keyword || formatTag(tag);
  const bad = (why: string): never => {
    throw new QueryError(`${name}: ${why}`);
  };
  if (value.length > MAX_KEY_LENGTH) bad(`a matching value is at most ${MAX_KEY_LENGTH} characters`);
  let wildcards = 0;
  for (const ch of value) if (ch === '*' || ch === '?') wildcards++;
  if (wildcards > MAX_WILDCARDS)
    bad(`at most ${MAX_WILDCARDS} wildcards (* and ?) in one value, got ${wildcards}`);
  switch (vr) {
    case 'DA':
    case 'TM':
    case 'DT': {
      const check = vr === 'DA' ? validDate : vr === 'TM' ? validTime : (s: string) => DATETIME.test(s);
      const parts = value.split('-');
      if (vr === 'DT' && /[+-]\d{4}$/.test(value) && !value.includes('-', 1)) {
        if (!check(value)) bad(`"${value}" is not a valid ${vr} value`);
        return;
      }
      if (parts.length > 2) bad(`"${value}" is not a valid ${vr} value or range`);
      if (parts.length === 1 && !check(parts[0])) bad(`"${value}" is not a valid ${vr} value`);
      if (parts.length === 2) {
        if (parts[0] === '' && parts[1] === '') bad(`"${value}" is an empty range`);
        for (const p of parts) if (p !== '' && !check(p)) bad(`"${p}" is not a valid ${vr} value`);
        if (parts[0] && parts[1] && vr !== 'TM' && parts[0] > parts[1])
          bad(`range "${value}" ends before it starts`);
      }
      return;
    }
    case 'UI':
      for (const u of value.split('\\')) if (!isUid(u)) bad(`"${u.slice(0, 70)}" is not a valid UID`);
      return;
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'IS':
      if (!/^[+-]?\d+$/.test(value.trim())) bad(`"${value}" is not an integer`);
      return;
    case 'FL':
    case 'FD':
    case 'DS':
      if (!Number.isFinite(Number(value.trim()))) bad(`"${value}" is not a number`);
      return;
    default:
      if (!isStringVr(vr) && vr !== 'SQ') bad(`attributes of VR ${vr} cannot be matched`);
  }
}

/** Matching keys from a C-FIND identifier (or any dataset). Sequence keys keep their first item. */
export function keysFromDataset(ds: Dataset): QueryKey[] {
  const out: QueryKey[] = [];
  for (const el of ds.elements) {
    if (el.tag === Tag.SpecificCharacterSet || el.tag === Tag.QueryRetrieveLevel) continue;
    if ((el.tag & 0xffff) === 0) continue; // group lengths
    out.push(keyFromElement(el, ds));
  }
  return out;
}

function keyFromElement(el: DataElement, ds: Dataset): QueryKey {
  if (el.items) {
    const first = el.items[0];
    return { tag: el.tag, vr: el.vr, value: '', items: first ? keysFromDataset(first.dataset) : [] };
  }
  const value = isStringVr(el.vr)
    ? rawString(el, ds.charset)
        .replace(/[ \0]+$/, '')
        .replace(/^ +/, '')
    : '';
  validateKey(el.tag, el.vr, value);
  return { tag: el.tag, vr: el.vr, value };
}
