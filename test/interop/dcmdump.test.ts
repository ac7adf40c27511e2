import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/core/dicom/dataset.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { numberValues, rawString } from '../../src/core/dicom/values.js';
import { isStringVr } from '../../src/core/dicom/vr.js';
import { pydicomFiles } from '../helpers/corpus.js';
import { dcmdump, type DumpLine } from '../helpers/dcmtk.js';

/** Files that DCMTK itself cannot read: our reader must reject them too, with a precise reason. */
const BROKEN: Record<string, RegExp> = {
  'MR_truncated.dcm': /LNT_DICOM_TRUNCATED|declares 8192 bytes/,
  'rtplan_truncated.dcm': /declares 50 bytes, 29 remain/,
  'SC_rgb_jpeg.dcm': /unknown VR/,
  'no_meta.dcm': /not a DICOM element/,
};

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
    else if (['US', 'SS', 'UL', 'SL', 'FL', 'FD'].includes(el.vr))
      value = (numberValues(el, ds.encoding.littleEndian) as number[]).join('\\');
    else if (el.vr === 'OB' && el.value)
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

describe('element values equal dcmdump +U8 for the pydicom corpus', () => {
  for (const file of pydicomFiles()) {
    const name = basename(file);
    it(name, () => {
      const bytes = readFileSync(file);
      if (BROKEN[name]) {
        expect(() => parseDicom(bytes)).toThrow(BROKEN[name]);
        return;
      }
      const ours: Ours[] = [];
      walk(parseDicom(bytes).dataset, '', ours);
      let theirs: DumpLine[];
      try {
        theirs = dcmdump(file);
      } catch (e) {
        // This DCMTK build cannot convert some ISO 2022 sets to UTF-8; charset.test.ts checks those files
        // against the standard's own examples instead.
        expect(String((e as { stderr?: string }).stderr)).toMatch(/character encoding/);
        return;
      }
      const byPath = new Map(ours.map((o) => [o.path, o]));
      let compared = 0;
      for (const d of theirs) {
        if (!comparable(d)) continue;
        const o = byPath.get(d.path);
        expect(o, `${d.path} missing`).toBeDefined();
        // Private elements in implicit VR: DCMTK knows some vendors' dictionaries; we keep them as UN.
        if (o!.vr !== d.vr) {
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
      expect(ours.length).toBeGreaterThan(0);
    });
  }
});
