/** Value representations (PS3.5 6.2). */
export type Vr =
  | 'AE'
  | 'AS'
  | 'AT'
  | 'CS'
  | 'DA'
  | 'DS'
  | 'DT'
  | 'FD'
  | 'FL'
  | 'IS'
  | 'LO'
  | 'LT'
  | 'OB'
  | 'OD'
  | 'OF'
  | 'OL'
  | 'OV'
  | 'OW'
  | 'PN'
  | 'SH'
  | 'SL'
  | 'SQ'
  | 'SS'
  | 'ST'
  | 'SV'
  | 'TM'
  | 'UC'
  | 'UI'
  | 'UL'
  | 'UN'
  | 'UR'
  | 'US'
  | 'UT'
  | 'UV';

const ALL: readonly Vr[] = [
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'SV',
  'TM',
  'UC',
  'UI',
  'UL',
  'UN',
  'UR',
  'US',
  'UT',
  'UV',
];
const VR_SET: ReadonlySet<string> = new Set(ALL);

/** The two ASCII bytes of each VR as one 16-bit number (first byte high), for a fast check on read. */
const VR_BY_CODE = new Map<number, Vr>(ALL.map((v) => [(v.charCodeAt(0) << 8) | v.charCodeAt(1), v]));

export function vrFromCode(b0: number, b1: number): Vr | undefined {
  return VR_BY_CODE.get((b0 << 8) | b1);
}

export function isVr(s: string): s is Vr {
  return VR_SET.has(s);
}

/** Explicit VR encodings with 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_FORM: ReadonlySet<Vr> = new Set<Vr>([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);
export function hasLongLength(vr: Vr): boolean {
  return LONG_FORM.has(vr);
}

/** String VRs whose values the Specific Character Set applies to (PS3.5 6.1.2.3). */
const CHARSET_VRS: ReadonlySet<Vr> = new Set<Vr>(['SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN']);
export function usesCharacterSet(vr: Vr): boolean {
  return CHARSET_VRS.has(vr);
}

const STRING_VRS: ReadonlySet<Vr> = new Set<Vr>([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);
export function isStringVr(vr: Vr): boolean {
  return STRING_VRS.has(vr);
}

/** String VRs that hold one value, where a backslash is an ordinary character. */
const SINGLE_VALUE_TEXT: ReadonlySet<Vr> = new Set<Vr>(['LT', 'ST', 'UT', 'UR']);
export function isSingleValuedText(vr: Vr): boolean {
  return SINGLE_VALUE_TEXT.has(vr);
}

/** Width in bytes of each value of the binary VRs: numbers (US ... UV, AT) and the other-word VRs. */
const VALUE_WIDTH: Partial<Record<Vr, number>> = {
  US: 2,
  SS: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  FD: 8,
  SV: 8,
  UV: 8,
  AT: 4,
};
const WORD_WIDTH: Partial<Record<Vr, number>> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

/** Fixed-size binary numbers (US, SS, UL, SL, FL, FD, SV, UV, AT) and their width in bytes. */
export function binaryNumberSize(vr: Vr): number | undefined {
  return VALUE_WIDTH[vr];
}

/** The width of one value for binary numbers and for OW, OF, OL, OD, OV; undefined for other VRs. */
export function valueWidth(vr: Vr): number | undefined {
  return VALUE_WIDTH[vr] ?? WORD_WIDTH[vr];
}

/** VRs that hold bulk data (PS3.18 F.2.7: sent as BulkDataURI or InlineBinary in JSON). */
const BULK: ReadonlySet<Vr> = new Set<Vr>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
export function isBulkVr(vr: Vr): boolean {
  return BULK.has(vr);
}

/** Padding byte for even length: NUL for UI and binary, space for other strings. */
export function paddingByte(vr: Vr): number {
  return isStringVr(vr) && vr !== 'UI' ? 0x20 : 0x00;
}

/**
 * The VR to use for a dictionary VR such as "US or SS" or "OB or OW" when the stream does not say
 * (implicit VR). Pixel data and LUT data become OW, as PS3.5 A.1 (c) requires for implicit VR.
 */
export function resolveDictionaryVr(dictVr: string | undefined): Vr {
  if (!dictVr || dictVr === 'NONE') return 'UN';
  const first = dictVr.slice(0, 2);
  if (dictVr.startsWith('OB or OW')) return 'OW';
  if (dictVr.startsWith('US or OW') || dictVr.startsWith('US or SS or OW')) return 'US';
  return isVr(first) ? first : 'UN';
}
