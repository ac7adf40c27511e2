/** Reading values out of the DICOM JSON model (PS3.18 F.2) by keyword, as the web app needs them. */

import { Tag, tagHex, type TagKeyword } from '../../../src/core/dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../../../src/core/dicom/json.js';

export type { JsonAttribute, JsonDataset };

/** An attribute by keyword (the DICOM JSON model keys attributes by tag: "00100010"). */
export type Keyword = TagKeyword;

function attr(ds: JsonDataset | undefined, k: Keyword): JsonAttribute | undefined {
  return ds?.[tagHex(Tag[k])];
}

/** A text value (the first), '' when absent. Person names as their alphabetic form. */
export function str(ds: JsonDataset | undefined, k: Keyword): string {
  const v = attr(ds, k)?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return (v as { Alphabetic?: string }).Alphabetic ?? '';
  return String(v);
}

/** Every value as text. */
export function strs(ds: JsonDataset | undefined, k: Keyword): string[] {
  return (attr(ds, k)?.Value ?? []).map((v) =>
    v !== null && typeof v === 'object' ? ((v as { Alphabetic?: string }).Alphabetic ?? '') : String(v),
  );
}

/** Numeric values (DS and IS arrive as numbers or as strings). */
export function nums(ds: JsonDataset | undefined, k: Keyword): number[] {
  return (attr(ds, k)?.Value ?? []).map((v) => Number(v)).filter((n) => Number.isFinite(n));
}

/** The first numeric value, or undefined. */
export function num(ds: JsonDataset | undefined, k: Keyword): number | undefined {
  return nums(ds, k)[0];
}

/**
 * A person name for display: "FAMILY, Given Middle" from the alphabetic group, with the ideographic or
 * phonetic group after it when present (so a Japanese or Chinese name shows both).
 */
export function personName(ds: JsonDataset | undefined, k: Keyword): string {
  const v = attr(ds, k)?.Value?.[0] as
    { Alphabetic?: string; Ideographic?: string; Phonetic?: string } | undefined;
  if (!v || typeof v !== 'object') return '';
  const fmt = (pn: string | undefined) => {
    if (!pn) return '';
    const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('^');
    const rest = [prefix, given, middle].filter(Boolean).join(' ');
    return [family, rest].filter(Boolean).join(', ') + (suffix ? ` ${suffix}` : '');
  };
  const alpha = fmt(v.Alphabetic);
  const other = fmt(v.Ideographic) || fmt(v.Phonetic);
  if (alpha && other) return `${alpha} (${other})`;
  return alpha || other;
}
