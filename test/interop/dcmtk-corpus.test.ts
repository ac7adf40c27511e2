import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tag } from '../../src/core/dicom/dictionary.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getString } from '../../src/core/dicom/values.js';
import { encodePart10 } from '../../src/core/dicom/writer.js';
import { DCMTK_ENV } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';
import { compareWithDcmdump } from './compare.js';

/**
 * A synthetic corpus made by DCMTK's own tools from files our writer made: every dataset encoding, the
 * compressed transfer syntaxes DCMTK can write, edited values, sequences and private elements. Our reader
 * must agree with dcmdump on every value and write each file back byte for byte.
 */
const dir = mkdtempSync(join(tmpdir(), 'lantern-dcmtk-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tool = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { env: DCMTK_ENV, stdio: ['ignore', 'pipe', 'pipe'] });

const base = join(dir, 'base.dcm');
writeFileSync(
  base,
  synthInstance({
    patientName: 'Müller^Jürgen',
    charset: 'ISO_IR 100',
    rows: 32,
    columns: 24,
    otherPatientIds: ['A1', 'B2'],
  }).bytes,
);
// Our synth helper writes UTF-8 bytes for every charset: rewrite the name in Latin-1 with DCMTK itself.
tool('dcmodify', ['-nb', '-m', '(0010,0010)=Muller^Jurgen', base]);

const variants: Record<string, () => void> = {
  'implicit.dcm': () => tool('dcmconv', ['+ti', base, join(dir, 'implicit.dcm')]),
  'bigendian.dcm': () => tool('dcmconv', ['+tb', base, join(dir, 'bigendian.dcm')]),
  'deflated.dcm': () => tool('dcmconv', ['+td', base, join(dir, 'deflated.dcm')]),
  'rle.dcm': () => tool('dcmcrle', [base, join(dir, 'rle.dcm')]),
  'jpeg-lossless.dcm': () => tool('dcmcjpeg', ['+el', base, join(dir, 'jpeg-lossless.dcm')]),
  'jpegls.dcm': () => tool('dcmcjpls', [base, join(dir, 'jpegls.dcm')]),
  'edited.dcm': () => {
    const out = join(dir, 'edited.dcm');
    writeFileSync(out, readFileSync(base));
    tool('dcmodify', [
      '-nb',
      '-i',
      '(0010,1010)=045Y',
      '-i',
      '(0018,0050)=1.25',
      '-i',
      '(0020,0013)=7',
      '-i',
      '(0040,0275)[0].(0040,0007)=Step one',
      '-i',
      '(0040,0275)[1].(0040,0009)=SPS-2',
      '-i',
      '(0008,1032)[0].(0008,0100)=CT-HEAD',
      '-i',
      '(0008,1032)[0].(0008,0102)=LOCAL',
      '-i',
      '(0018,1151)=200',
      '-i',
      '(0028,1050)=40\\60',
      out,
    ]);
  },
  'no-meta.dcm': () => tool('dcmconv', ['-F', '+ti', base, join(dir, 'no-meta.dcm')]),
};

describe('a synthetic corpus written by DCMTK', () => {
  for (const [name, make] of Object.entries(variants)) {
    it(name, () => {
      make();
      const file = join(dir, name);
      const bytes = readFileSync(file);
      const r = parseDicom(bytes);
      expect(getString(r.dataset, Tag.PatientName)).toBe('Muller^Jurgen');
      expect(compareWithDcmdump(file, r.dataset)).toBeGreaterThan(20);
      const out = r.meta
        ? encodePart10({ preamble: r.preamble, meta: r.meta, dataset: r.dataset, source: r })
        : undefined;
      if (out) expect(Buffer.from(out).equals(bytes)).toBe(true);
    });
  }

  it('a Latin-1 name that DCMTK wrote is read as Latin-1', () => {
    const f = join(dir, 'latin1.dcm');
    writeFileSync(f, readFileSync(base));
    const value = join(dir, 'name.txt');
    writeFileSync(value, Buffer.from('M\xfcller^J\xfcrgen ', 'latin1'));
    tool('dcmodify', ['-nb', '-mf', `(0010,0010)=${value}`, f]);
    const r = parseDicom(readFileSync(f));
    expect(getString(r.dataset, Tag.PatientName)).toBe('Müller^Jürgen');
    expect(compareWithDcmdump(f, r.dataset)).toBeGreaterThan(20);
  });
});
