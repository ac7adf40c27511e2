import {
  DICTIONARY_ENTRIES,
  MASKED_DICTIONARY_ENTRIES,
  SOP_CLASS_ENTRIES,
  Tag,
} from './dictionary.generated.js';

export { Tag, SopClass, type TagKeyword } from './dictionary.generated.js';

export interface DictionaryEntry {
  readonly tag: number;
  /** As in PS3.6, e.g. "US", "US or SS", "OB or OW"; "NONE" for item delimiters. */
  readonly vr: string;
  readonly vm: string;
  readonly keyword: string;
  readonly retired: boolean;
}

let byTag: Map<number, DictionaryEntry> | undefined;
let byKeyword: Map<string, DictionaryEntry> | undefined;

function build(): Map<number, DictionaryEntry> {
  byTag = new Map();
  byKeyword = new Map();
  for (const [tag, vr, vm, keyword, retired] of DICTIONARY_ENTRIES) {
    const e: DictionaryEntry = { tag, vr, vm, keyword, retired: retired === 1 };
    byTag.set(tag, e);
    if (keyword && !byKeyword.has(keyword)) byKeyword.set(keyword, e);
  }
  for (const [, value, vr, vm, keyword, retired] of MASKED_DICTIONARY_ENTRIES) {
    if (keyword && !byKeyword.has(keyword))
      byKeyword.set(keyword, { tag: value, vr, vm, keyword, retired: retired === 1 });
  }
  return byTag;
}

/** The dictionary entry of a public tag (repeating groups included), or undefined. */
export function lookupTag(tag: number): DictionaryEntry | undefined {
  const e = (byTag ?? build()).get(tag);
  if (e) return e;
  if (isPrivateTag(tag)) return undefined;
  for (const [mask, value, vr, vm, keyword, retired] of MASKED_DICTIONARY_ENTRIES) {
    if ((tag & mask) >>> 0 === value) return { tag, vr, vm, keyword, retired: retired === 1 };
  }
  return undefined;
}

export function lookupKeyword(keyword: string): DictionaryEntry | undefined {
  if (!byKeyword) build();
  return byKeyword!.get(keyword);
}

/** Group length elements (gggg,0000) are UL in every group. */
export function isGroupLength(tag: number): boolean {
  return (tag & 0xffff) === 0;
}

export function isPrivateTag(tag: number): boolean {
  return ((tag >>> 16) & 1) === 1;
}

/** A private creator element (gggg,0010-00FF) of an odd group. */
export function isPrivateCreator(tag: number): boolean {
  const el = tag & 0xffff;
  return isPrivateTag(tag) && el >= 0x0010 && el <= 0x00ff;
}

/** "(0010,0010)" */
export function formatTag(tag: number): string {
  const h = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${h.slice(0, 4)},${h.slice(4)})`;
}

/** "00100010" as used by the DICOM JSON model. */
const hexCache = new Map<number, string>();

export function tagHex(tag: number): string {
  let hex = hexCache.get(tag);
  if (hex === undefined) {
    hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
    // Bounded: private and repeating-group tags are unbounded in principle.
    if (hexCache.size < 65536) hexCache.set(tag, hex);
  }
  return hex;
}

/** Parses a tag given as a keyword, "00100010", "0010,0010" or "(0010,0010)". */
export function parseTag(text: string): number | undefined {
  const m = /^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$/.exec(text);
  if (m) return parseInt(m[1] + m[2], 16) >>> 0;
  return lookupKeyword(text)?.tag;
}

let sopNames: Map<string, string> | undefined;
export function sopClassName(uid: string): string | undefined {
  if (!sopNames) sopNames = new Map(SOP_CLASS_ENTRIES.map(([u, n]) => [u, n]));
  return sopNames.get(uid);
}

/** Storage SOP classes from the dictionary (every SOP class whose name says "Storage"). */
export function isStorageSopClass(uid: string): boolean {
  const name = sopClassName(uid);
  return name !== undefined && /Storage/.test(name);
}

export const ITEM = Tag.Item;
export const ITEM_DELIMITATION = Tag.ItemDelimitationItem;
export const SEQUENCE_DELIMITATION = Tag.SequenceDelimitationItem;
export const PIXEL_DATA = Tag.PixelData;
