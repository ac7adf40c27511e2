import { describe, expect, it } from 'vitest';
import { applyToJson, type AttributeChange, changesToMatch, editHead } from './edit.js';
import { Tag, tagHex } from './dictionary.js';
import { parseDicom } from './parser.js';
import { getString } from './values.js';
import { buildMeta, encodePart10 } from './writer.js';
import { stringElement } from './encode.js';
import { IMPLICIT_LITTLE, Dataset } from './dataset.js';
import { synthInstance } from '../../../test/helpers/synth.js';

/** The edited object: the new head, then the stored bytes from where they resume. */
function edited(file: Uint8Array, changes: readonly AttributeChange[], headBytes = file.length): Buffer {
  let n = headBytes;
  for (;;) {
    const r = editHead(file.subarray(0, n), changes, n >= file.length);
    if (r !== 'more') return Buffer.concat([r.head, file.subarray(r.resumeAt)]);
    n = Math.min(file.length, n * 2);
  }
}

const rename: AttributeChange[] = [
  { tag: Tag.PatientName, vr: 'PN', values: ['NEW^NAME'] },
  { tag: Tag.PatientID, vr: 'LO', values: ['NEW-ID'] },
];

describe('editing a stored object', () => {
  it('changes the attributes asked for and leaves every other element and the pixel data as stored', () => {
    const inst = synthInstance({ patientName: 'Old^Name', patientId: 'OLD-ID', rows: 64, columns: 64 });
    const out = edited(inst.bytes, rename, 256);
    const before = parseDicom(inst.bytes);
    const after = parseDicom(out);
    expect(getString(after.dataset, Tag.PatientName)).toBe('NEW^NAME');
    expect(getString(after.dataset, Tag.PatientID)).toBe('NEW-ID');
    const others = (r: typeof before) =>
      r.dataset.elements
        .filter((e) => e.tag !== Tag.PatientName && e.tag !== Tag.PatientID)
        .map((e) => [e.tag, Buffer.from(e.value ?? []).toString('hex')]);
    expect(others(after)).toEqual(others(before));
    // The meta header and everything after the patient module are the stored bytes themselves.
    expect(out.subarray(0, before.datasetOffset).equals(inst.bytes.subarray(0, before.datasetOffset))).toBe(
      true,
    );
    const pixelsAt = (b: Uint8Array, r: typeof before) => b.subarray(r.pixelDataOffset!);
    expect(Buffer.from(pixelsAt(out, after)).equals(Buffer.from(pixelsAt(inst.bytes, before)))).toBe(true);
  });

  it('asks for more of the object until the last changed attribute is whole', () => {
    const inst = synthInstance({});
    expect(editHead(inst.bytes.subarray(0, 200), rename, false)).toBe('more');
    expect(editHead(inst.bytes.subarray(0, 400), rename, false)).toBe('more');
    expect(editHead(inst.bytes.subarray(0, 2000), rename, false)).not.toBe('more');
    // A stored object that ends before its meta header does is not one.
    expect(() => editHead(inst.bytes.subarray(0, 200), rename, true)).toThrow(/no file meta header/);
  });

  it('turns the default repertoire into UTF-8 for a value it cannot hold, and refuses another character set', () => {
    const ascii = synthInstance({ charset: '', patientName: 'Chan^Tai Man' });
    const out = edited(ascii.bytes, [{ tag: Tag.PatientName, vr: 'PN', values: ['Chan^Tai Man=陳^大文'] }]);
    const ds = parseDicom(out).dataset;
    expect(getString(ds, Tag.SpecificCharacterSet)).toBe('ISO_IR 192');
    expect(getString(ds, Tag.PatientName)).toBe('Chan^Tai Man=陳^大文');
    const latin = synthInstance({ charset: 'ISO_IR 100', patientName: 'Müller^Anna' });
    expect(() => edited(latin.bytes, [{ tag: Tag.PatientName, vr: 'PN', values: ['陳^大文'] }])).toThrow(
      /cannot be written in the object's character set \(ISO_IR 100\)/,
    );
    // Within its character set, it is written in it.
    const kept = parseDicom(
      edited(latin.bytes, [{ tag: Tag.PatientName, vr: 'PN', values: ['Müller^Änne'] }]),
    );
    expect(getString(kept.dataset, Tag.SpecificCharacterSet)).toBe('ISO_IR 100');
    expect(getString(kept.dataset, Tag.PatientName)).toBe('Müller^Änne');
  });

  it('replaces a sequence of identifiers and removes an attribute', () => {
    const inst = synthInstance({ otherPatientIds: ['OLD-OTHER'], birthDate: '19800101' });
    const out = edited(inst.bytes, [
      {
        tag: Tag.OtherPatientIDsSequence,
        items: [
          [
            { tag: Tag.PatientID, vr: 'LO', values: ['A123456(3)'] },
            { tag: Tag.IssuerOfPatientID, vr: 'LO', values: ['HKID'] },
          ],
        ],
      },
      { tag: Tag.PatientBirthDate, remove: true },
    ]);
    const ds = parseDicom(out).dataset;
    const items = ds.get(Tag.OtherPatientIDsSequence)!.items!;
    expect(
      items.map((i) => [getString(i.dataset, Tag.PatientID), getString(i.dataset, Tag.IssuerOfPatientID)]),
    ).toEqual([['A123456(3)', 'HKID']]);
    expect(ds.has(Tag.PatientBirthDate)).toBe(false);
  });

  it('edits an implicit VR object in its own encoding', () => {
    const inst = synthInstance({});
    const parsed = parseDicom(inst.bytes);
    const implicit = encodePart10({
      meta: buildMeta({
        sopClassUid: getString(parsed.dataset, Tag.SOPClassUID)!,
        sopInstanceUid: getString(parsed.dataset, Tag.SOPInstanceUID)!,
        transferSyntaxUid: '1.2.840.10008.1.2',
        implementationClassUid: '1.2.3',
      }),
      dataset: new Dataset(
        parsed.dataset.elements.map((e) => ({ ...e, header: undefined })),
        IMPLICIT_LITTLE,
      ),
    });
    const out = parseDicom(edited(implicit, rename));
    expect(out.transferSyntax.uid).toBe('1.2.840.10008.1.2');
    expect(getString(out.dataset, Tag.PatientName)).toBe('NEW^NAME');
    expect(getString(out.dataset, Tag.Rows)).toBe(undefined); // a number, read as one
  });

  it('reads and writes a deflated object whole', () => {
    const inst = synthInstance({ patientName: 'Deflated^Dora' });
    const parsed = parseDicom(inst.bytes);
    const deflated = encodePart10({
      meta: buildMeta({
        sopClassUid: getString(parsed.dataset, Tag.SOPClassUID)!,
        sopInstanceUid: getString(parsed.dataset, Tag.SOPInstanceUID)!,
        transferSyntaxUid: '1.2.840.10008.1.2.1.99',
        implementationClassUid: '1.2.3',
      }),
      dataset: parsed.dataset.with(stringElement(Tag.StudyDescription, 'LO', ['deflated'])),
    });
    const out = parseDicom(edited(deflated, rename, 300));
    expect(out.transferSyntax.uid).toBe('1.2.840.10008.1.2.1.99');
    expect(getString(out.dataset, Tag.PatientName)).toBe('NEW^NAME');
    expect(getString(out.dataset, Tag.StudyDescription)).toBe('deflated');
  });

  it('refuses what is not a top-level attribute of the patient, study or series', () => {
    const inst = synthInstance({});
    expect(() => editHead(inst.bytes, [{ tag: Tag.Rows, vr: 'US', values: ['1'] }], true)).toThrow(
      RangeError,
    );
    expect(() =>
      editHead(inst.bytes, [{ tag: Tag.SpecificCharacterSet, vr: 'CS', values: ['ISO_IR 100'] }], true),
    ).toThrow(RangeError);
  });
});

describe('the index copy of an edit', () => {
  it('writes changes into DICOM JSON, and reads them back out of it', () => {
    const json = {
      [tagHex(Tag.PatientName)]: { vr: 'PN', Value: [{ Alphabetic: 'OLD^NAME' }] },
      [tagHex(Tag.PatientAddress)]: { vr: 'LO', Value: ['old street'] },
    };
    const target = applyToJson(json, [
      { tag: Tag.PatientName, vr: 'PN', values: ['CHAN^TAI MAN=陳^大文'] },
      { tag: Tag.PatientAddress, remove: true },
      {
        tag: Tag.OtherPatientIDsSequence,
        items: [
          [
            { tag: Tag.PatientID, vr: 'LO', values: ['A123456(3)'] },
            { tag: Tag.IssuerOfPatientID, vr: 'LO', values: ['HKID'] },
          ],
        ],
      },
    ]);
    expect(target[tagHex(Tag.PatientName)]).toEqual({
      vr: 'PN',
      Value: [{ Alphabetic: 'CHAN^TAI MAN', Ideographic: '陳^大文' }],
    });
    expect(target[tagHex(Tag.PatientAddress)]).toBeUndefined();
    // What another record must change to match this one: set what it has, remove what only the other has.
    const other = {
      [tagHex(Tag.PatientName)]: { vr: 'PN', Value: [{ Alphabetic: 'X^Y' }] },
      [tagHex(Tag.PatientAddress)]: { vr: 'LO', Value: ['somewhere'] },
    };
    const changes = changesToMatch(target, other, [
      Tag.PatientName,
      Tag.OtherPatientIDsSequence,
      Tag.PatientAddress,
    ]);
    expect(changes).toEqual([
      { tag: Tag.PatientName, vr: 'PN', values: ['CHAN^TAI MAN=陳^大文'] },
      {
        tag: Tag.OtherPatientIDsSequence,
        items: [
          [
            { tag: Tag.PatientID, vr: 'LO', values: ['A123456(3)'] },
            { tag: Tag.IssuerOfPatientID, vr: 'LO', values: ['HKID'] },
          ],
        ],
      },
      { tag: Tag.PatientAddress, remove: true },
    ]);
    expect(applyToJson(other, changes)).toEqual(target);
  });
});
