import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatTag,
  isStorageSopClass,
  lookupKeyword,
  lookupTag,
  parseTag,
  SopClass,
  sopClassName,
  Tag,
} from './dictionary.js';
import { lookupTransferSyntax, TransferSyntaxUid } from './transfer-syntax.js';

const root = resolve(import.meta.dirname, '../../..');
const standardData = resolve(root, '..', 'shared', 'data', 'dicom-standard');

describe('generated dictionary', () => {
  it.runIf(existsSync(standardData))('is exactly what the generator makes from the standard data', () => {
    const out = execFileSync('node', [resolve(root, 'scripts/gen-dictionary.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/up to date/);
  });

  it('has tags, VRs, VMs, keywords and retired flags', () => {
    expect(Tag.PatientName).toBe(0x00100010);
    expect(lookupTag(Tag.PatientName)).toMatchObject({
      vr: 'PN',
      vm: '1',
      keyword: 'PatientName',
      retired: false,
    });
    expect(lookupTag(0x00080001)).toMatchObject({ keyword: 'LengthToEnd', retired: true });
    expect(lookupKeyword('StudyInstanceUID')?.tag).toBe(0x0020000d);
    expect(lookupTag(0x60020010)?.keyword).toBe('OverlayRows');
    expect(lookupTag(0x00090010)).toBeUndefined();
  });

  it('parses and formats tags', () => {
    expect(parseTag('PatientID')).toBe(0x00100020);
    expect(parseTag('(0010,0020)')).toBe(0x00100020);
    expect(parseTag('00100020')).toBe(0x00100020);
    expect(parseTag('NoSuchKeyword')).toBeUndefined();
    expect(formatTag(0x7fe00010)).toBe('(7FE0,0010)');
  });

  it('names SOP classes and transfer syntaxes', () => {
    expect(SopClass.CTImageStorage).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(sopClassName('1.2.840.10008.5.1.4.1.1.2')).toBe('CT Image Storage');
    expect(isStorageSopClass(SopClass.TwelveLeadECGWaveformStorage)).toBe(true);
    expect(lookupTransferSyntax(TransferSyntaxUid.JPEGLSLossless)).toMatchObject({
      encapsulated: true,
      lossy: false,
    });
    expect(lookupTransferSyntax(TransferSyntaxUid.ExplicitVRBigEndian)).toMatchObject({
      littleEndian: false,
      retired: true,
    });
    expect(lookupTransferSyntax(TransferSyntaxUid.DeflatedExplicitVRLittleEndian)?.deflated).toBe(true);
  });
});
