import { Tag, tagHex } from '../dicom/dictionary.js';
import type { JsonDataset } from '../dicom/json.js';
import { checkHkid } from './hkid.js';

/**
 * Patient identification (docs/patients.md): the kinds of identifier a person confirming an operation on a
 * patient's images may give, what the archive holds of each, and how they are compared. An operation needs
 * at least two different kinds that match, and none that does not.
 */
export const IDENTIFIER_KINDS = [
  'name',
  'hkid',
  'birthDate',
  'phone',
  'address',
  'birthCertificate',
] as const;
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

export function isIdentifierKind(k: unknown): k is IdentifierKind {
  return typeof k === 'string' && (IDENTIFIER_KINDS as readonly string[]).includes(k);
}

export interface GivenIdentifier {
  readonly kind: IdentifierKind;
  readonly value: string;
}

/** What the archive holds of a patient, by kind, each value as written (several for some kinds). */
export type PatientIdentity = Readonly<Partial<Record<IdentifierKind, readonly string[]>>>;

/**
 * Issuers and identifier type codes (HL7 v2 table 0203, as IHE PIX carries them) that mark an Other Patient
 * ID (or the Patient ID itself) as an HKID number or a birth certificate number.
 */
const HKID_MARKS = new Set(['HKID', 'NNHKG', 'HKIC']);
const BIRTH_CERTIFICATE_MARKS = new Set(['BCT', 'BC', 'BIRTHCERTIFICATE', 'BIRTH CERTIFICATE']);

type Item = Record<string, { Value?: unknown[] } | undefined>;
const strings = (ds: Item | JsonDataset, tag: number): string[] =>
  (ds[tagHex(tag)]?.Value ?? []).filter((v): v is string => typeof v === 'string' && v.trim() !== '');
const items = (ds: Item | JsonDataset, tag: number): Item[] =>
  (ds[tagHex(tag)]?.Value ?? []).filter((v): v is Item => typeof v === 'object' && v !== null);

/** The marks of an identifier: its issuer and the identifier type codes of its issuer's qualifiers. */
function marks(ds: Item | JsonDataset): string[] {
  const out = strings(ds, Tag.IssuerOfPatientID);
  for (const q of items(ds, Tag.IssuerOfPatientIDQualifiersSequence))
    out.push(...strings(q, Tag.IdentifierTypeCode));
  return out.map((m) => m.trim().toUpperCase());
}

/** Whether a Patient ID (with its issuer), or an Other Patient IDs item, is an HKID or birth certificate number. */
export function identifierKindOf(ds: Item | JsonDataset): 'hkid' | 'birthCertificate' | undefined {
  const m = marks(ds);
  if (m.some((x) => HKID_MARKS.has(x))) return 'hkid';
  if (m.some((x) => BIRTH_CERTIFICATE_MARKS.has(x))) return 'birthCertificate';
  return undefined;
}

/** The names of a Person Name value in DICOM JSON: each component group written (alphabetic, ...). */
function personNames(ds: JsonDataset, tag: number): string[] {
  const out: string[] = [];
  for (const v of ds[tagHex(tag)]?.Value ?? []) {
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object')
      for (const g of ['Alphabetic', 'Ideographic', 'Phonetic'] as const) {
        const s = (v as Record<string, unknown>)[g];
        if (typeof s === 'string' && s.trim()) out.push(s);
      }
  }
  return out;
}

/**
 * What a patient's attributes (DICOM JSON: the patient level of the index, or an instance's data set) say
 * of each kind: the name in each component group, the birth date, the telephone numbers, the address, and
 * the Patient ID and Other Patient IDs marked as HKID or birth certificate numbers.
 */
export function identityOf(attrs: JsonDataset): PatientIdentity {
  const out: Partial<Record<IdentifierKind, string[]>> = {};
  const add = (k: IdentifierKind, vs: readonly string[]) => {
    if (vs.length) out[k] = [...(out[k] ?? []), ...vs];
  };
  add('name', personNames(attrs, Tag.PatientName));
  add('birthDate', strings(attrs, Tag.PatientBirthDate));
  add('phone', strings(attrs, Tag.PatientTelephoneNumbers));
  add('address', strings(attrs, Tag.PatientAddress));
  const own = identifierKindOf(attrs);
  if (own) add(own, strings(attrs, Tag.PatientID));
  for (const item of items(attrs, Tag.OtherPatientIDsSequence)) {
    const k = identifierKindOf(item);
    if (k) add(k, strings(item, Tag.PatientID));
  }
  return out;
}

/** The form a value of a kind is compared in; a reason instead when it is not a valid value of that kind. */
export function normalizeIdentifier(
  kind: IdentifierKind,
  value: string,
): { readonly value: string } | { readonly invalid: string } {
  const v = value.normalize('NFC').trim();
  if (!v) return { invalid: 'empty' };
  switch (kind) {
    case 'name': {
      // Case, spaces, punctuation and the order of the name's parts do not matter: CHAN^TAI MAN = Tai Man Chan.
      const words = v
        .toUpperCase()
        .split(/[\s^,.'\-=]+/u)
        .filter(Boolean)
        .sort();
      return words.length ? { value: words.join(' ') } : { invalid: 'no name in it' };
    }
    case 'hkid': {
      const r = checkHkid(v);
      return r.ok ? { value: r.value } : { invalid: r.reason };
    }
    case 'birthDate': {
      const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(v.replace(/\./g, ''));
      if (!m) return { invalid: 'a birth date is written YYYY-MM-DD or YYYYMMDD' };
      const [, y, mo, d] = m;
      const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
      if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d))
        return { invalid: 'not a date of the calendar' };
      return { value: `${y}${mo}${d}` };
    }
    case 'phone': {
      const digits = v.replace(/\D/g, '');
      return digits.length >= 6 ? { value: digits } : { invalid: 'a telephone number has at least 6 digits' };
    }
    case 'address': {
      const words = v
        .toUpperCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean);
      return words.length ? { value: words.join(' ') } : { invalid: 'no address in it' };
    }
    case 'birthCertificate': {
      const s = v.toUpperCase().replace(/[^A-Z0-9]/g, '');
      return s ? { value: s } : { invalid: 'no number in it' };
    }
  }
}

/**
 * A name's forms compared: its parts in any order (CHAN^TAI MAN = Tai Man Chan), and its letters without
 * separators in the order written (陳^大文 = 陳大文: names written without spaces).
 */
function nameForms(value: string): string[] {
  const n = normalizeIdentifier('name', value);
  if (!('value' in n)) return [];
  const compact = value
    .normalize('NFC')
    .toUpperCase()
    .replace(/[\s^,.'\-=]+/gu, '');
  return [n.value, `=${compact}`];
}

/** Two telephone numbers are one when equal, or when one ends with the other of at least 8 digits (+852). */
function samePhone(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.length >= 8 && long.endsWith(short);
}

export interface IdentificationResult {
  /** Two different kinds matched, and nothing given disagreed with the record. */
  readonly confirmed: boolean;
  /** Kinds given whose value matches the record. */
  readonly matched: readonly IdentifierKind[];
  /** Kinds given whose value is not what the record holds. */
  readonly mismatched: readonly IdentifierKind[];
  /** Kinds given that the record holds nothing of (they can neither confirm nor refute). */
  readonly unknown: readonly IdentifierKind[];
  /** Values given that are not valid values of their kind. */
  readonly invalid: readonly { readonly kind: IdentifierKind; readonly reason: string }[];
  /** Why it is not confirmed (no values of the record or given: kinds and counts only). */
  readonly reason: string;
}

/**
 * Compares what a person gives with what the archive holds. Confirmed when at least two different kinds
 * match and none given mismatches or is invalid: two values of the same kind count once, a wrong value
 * refuses whatever else matched.
 */
export function identify(record: PatientIdentity, given: readonly GivenIdentifier[]): IdentificationResult {
  const matched = new Set<IdentifierKind>();
  const mismatched = new Set<IdentifierKind>();
  const unknown = new Set<IdentifierKind>();
  const invalid: { kind: IdentifierKind; reason: string }[] = [];
  for (const g of given) {
    const n = normalizeIdentifier(g.kind, g.value);
    if ('invalid' in n) {
      invalid.push({ kind: g.kind, reason: n.invalid });
      continue;
    }
    const held = (record[g.kind] ?? [])
      .map((v) => normalizeIdentifier(g.kind, v))
      .flatMap((r) => ('value' in r ? [r.value] : []));
    const same =
      g.kind === 'name'
        ? (record.name ?? []).some((h) => nameForms(h).some((f) => nameForms(g.value).includes(f)))
        : held.some((h) => (g.kind === 'phone' ? samePhone(h, n.value) : h === n.value));
    if (!held.length) unknown.add(g.kind);
    else if (same) matched.add(g.kind);
    else mismatched.add(g.kind);
  }
  for (const k of mismatched) matched.delete(k);
  const confirmed = matched.size >= 2 && !mismatched.size && !invalid.length;
  const reason = confirmed
    ? ''
    : mismatched.size
      ? `${[...mismatched].join(', ')} ${mismatched.size === 1 ? 'does' : 'do'} not match the archive's record`
      : invalid.length
        ? invalid.map((i) => `${i.kind}: ${i.reason}`).join('; ')
        : `two different identifiers must match; ${matched.size} matched${unknown.size ? ` (the record holds no ${[...unknown].join(', ')})` : ''}`;
  return {
    confirmed,
    matched: [...matched],
    mismatched: [...mismatched],
    unknown: [...unknown],
    invalid,
    reason,
  };
}
