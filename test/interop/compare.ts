import { expect } from 'vitest';
import type { Dataset } from '../../src/core/dicom/dataset.js';
import { numberValues, rawString } from '../../src/core/dicom/values.js';
import { isStringVr } from '../../src/core/dicom/vr.js';
import { dcmdump, type DumpLine } from '../helpers/dcmtk.js';

interface Ours {
  path: string;
  vr: string;
  value: string;
}

function walk(ds: Dataset, prefix: string, out: Ours[]): void {
  for (const el of ds.elements) {
    const tag = el.tag.toString(16).toUpperCase().padStart(8, '0');
    const path = prefix ? `${prefix}/${tag}` : tag;
    if (el.items) {
      out.push({ path, vr: el.vr, value: '' });
      el.items.forEach((it, i) => walk(it.dataset, `${path}/${i}`, out));
      continue;
    }
    let value = '';
    if (isStringVr(el.vr)) value = rawString(el, ds.charset).replace(/[ \0]+$/, '');
    else if (['US', 'SS', 'UL', 'SL', 'FL', 'FD'].includes(el.vr)) {
      value = (numberValues(el, ds.encoding.littleEndian) as number[]).join('\\');
    } else if (el.vr === 'OB' && el.value)
      value = [...el.value].map((b) => b.toString(16).padStart(2, '0')).join('\\');
    out.push({ path, vr: el.vr, value });
  }
}

function comparable(d: DumpLine): boolean {
  // dcmdump +U8 rewrites (0008,0005) to ISO_IR 192 after converting; bulk values it leaves unloaded.
  if (d.tag === '00080005' || d.value.startsWith('(not loaded)') || d.value.startsWith('(PixelSequence'))
    return false;
  return isStringVr(d.vr as never) || ['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'OB'].includes(d.vr);
}

function sameNumber(a: string, b: string): boolean {
  const x = a.split('\\').map(Number);
  const y = b.split('\\').map(Number);
  return (
    x.length === y.length &&
    x.every((v, i) => v === y[i] || Math.abs(v - y[i]) <= 1e-5 * Math.max(1, Math.abs(v)))
  );
}

/**
 * Checks that every value dcmdump +U8 prints for `file` equals the value our reader decoded into `dataset`.
 * Returns the number of elements compared. Throws dcmdump's error when it cannot convert the file.
 */
export function compareWithDcmdump(file: string, dataset: Dataset): number {
  const ours: Ours[] = [];
  walk(dataset, '', ours);
  expect(ours.length).toBeGreaterThan(0);
  const theirs = dcmdump(file);
  const byPath = new Map(ours.map((o) => [o.path, o]));
  let compared = 0;
  for (const d of theirs) {
    if (!comparable(d)) continue;
    const o = byPath.get(d.path);
    expect(o, `${d.path} missing`).toBeDefined();
    if (o!.vr !== d.vr) {
      // Private elements in implicit VR: DCMTK knows some vendors' dictionaries; we keep them as UN.
      expect(o!.vr, d.path).toBe('UN');
      compared++;
      continue;
    }
    const theirsValue = d.value === '(no value available)' ? '' : d.value;
    if (['FL', 'FD'].includes(d.vr)) expect(sameNumber(o!.value, theirsValue), d.path).toBe(true);
    else expect(o!.value, `${d.path} ${d.vr}`).toBe(theirsValue);
    compared++;
  }
  expect(compared).toBe(theirs.filter(comparable).length);
  return compared;
}
