import { describe, expect, it } from 'vitest';
import { Tag, tagHex } from '../dicom/dictionary.js';
import type { JsonDataset } from '../dicom/json.js';
import { identify, identityOf, normalizeIdentifier } from './identity.js';

const attrs: JsonDataset = {
  [tagHex(Tag.PatientName)]: { vr: 'PN', Value: [{ Alphabetic: 'CHAN^TAI MAN', Ideographic: '陳^大文' }] },
  [tagHex(Tag.PatientID)]: { vr: 'LO', Value: ['MRN-0042'] },
  [tagHex(Tag.PatientBirthDate)]: { vr: 'DA', Value: ['19800229'] },
  [tagHex(Tag.PatientTelephoneNumbers)]: { vr: 'SH', Value: ['+852 2345 6789'] },
  [tagHex(Tag.PatientAddress)]: { vr: 'LO', Value: ['Flat 3A, 12 Harbour Road, Wan Chai'] },
  [tagHex(Tag.OtherPatientIDsSequence)]: {
    vr: 'SQ',
    Value: [
      {
        [tagHex(Tag.PatientID)]: { vr: 'LO', Value: ['A123456(3)'] },
        [tagHex(Tag.IssuerOfPatientID)]: { vr: 'LO', Value: ['HKID'] },
      },
      {
        [tagHex(Tag.PatientID)]: { vr: 'LO', Value: ['BC-778899'] },
        [tagHex(Tag.IssuerOfPatientIDQualifiersSequence)]: {
          vr: 'SQ',
          Value: [{ [tagHex(Tag.IdentifierTypeCode)]: { vr: 'CS', Value: ['BCT'] } }],
        },
      },
      // An identifier of another kind is not one of the patient's identifiers for this purpose.
      { [tagHex(Tag.PatientID)]: { vr: 'LO', Value: ['OTHER-1'] } },
    ],
  },
};

describe('patient identification', () => {
  const record = identityOf(attrs);

  it('reads what the record holds of each kind', () => {
    expect(record).toEqual({
      name: ['CHAN^TAI MAN', '陳^大文'],
      birthDate: ['19800229'],
      phone: ['+852 2345 6789'],
      address: ['Flat 3A, 12 Harbour Road, Wan Chai'],
      hkid: ['A123456(3)'],
      birthCertificate: ['BC-778899'],
    });
  });

  it('confirms two different kinds that match, however they are written', () => {
    const r = identify(record, [
      { kind: 'name', value: 'Tai Man Chan' },
      { kind: 'hkid', value: 'a1234563' },
    ]);
    expect(r).toMatchObject({ confirmed: true, matched: ['name', 'hkid'], reason: '' });
    expect(
      identify(record, [
        { kind: 'name', value: '陳大文' },
        { kind: 'birthDate', value: '1980-02-29' },
        { kind: 'phone', value: '23456789' },
        { kind: 'address', value: 'flat 3a 12 harbour road wan chai' },
        { kind: 'birthCertificate', value: 'bc778899' },
      ]).confirmed,
    ).toBe(true);
  });

  it('refuses one identifier, two of the same kind, a wrong value, an invalid value, and kinds not on record', () => {
    const one = identify(record, [{ kind: 'name', value: 'CHAN TAI MAN' }]);
    expect(one).toMatchObject({ confirmed: false, matched: ['name'] });
    expect(one.reason).toBe('two different identifiers must match; 1 matched');
    const same = identify(record, [
      { kind: 'name', value: 'CHAN TAI MAN' },
      { kind: 'name', value: 'Chan, Tai Man' },
    ]);
    expect(same).toMatchObject({ confirmed: false, matched: ['name'] });
    const wrong = identify(record, [
      { kind: 'name', value: 'CHAN TAI MAN' },
      { kind: 'birthDate', value: '1980-02-28' },
      { kind: 'hkid', value: 'A123456(3)' },
    ]);
    expect(wrong).toMatchObject({ confirmed: false, matched: ['name', 'hkid'], mismatched: ['birthDate'] });
    expect(wrong.reason).toBe("birthDate does not match the archive's record");
    const invalid = identify(record, [
      { kind: 'name', value: 'CHAN TAI MAN' },
      { kind: 'hkid', value: 'A123456(4)' },
    ]);
    expect(invalid.confirmed).toBe(false);
    expect(invalid.reason).toMatch(/^hkid: the HKID number's check digit does not hold/);
    const bare = identityOf({ [tagHex(Tag.PatientName)]: { vr: 'PN', Value: [{ Alphabetic: 'DOE^JO' }] } });
    const notHeld = identify(bare, [
      { kind: 'name', value: 'Jo Doe' },
      { kind: 'phone', value: '91234567' },
    ]);
    expect(notHeld).toMatchObject({ confirmed: false, unknown: ['phone'] });
    expect(notHeld.reason).toBe(
      'two different identifiers must match; 1 matched (the record holds no phone)',
    );
  });

  it('normalises each kind, and says what is wrong with a value', () => {
    expect(normalizeIdentifier('birthDate', '2020-02-30')).toEqual({ invalid: 'not a date of the calendar' });
    expect(normalizeIdentifier('birthDate', '29/02/1980')).toMatchObject({
      invalid: expect.any(String) as string,
    });
    expect(normalizeIdentifier('phone', '+852 9123-4567')).toEqual({ value: '85291234567' });
    expect(normalizeIdentifier('name', '  ')).toEqual({ invalid: 'empty' });
    // A phone number matches with or without its country code, not on a short tail.
    expect(
      identify({ phone: ['91234567'], name: ['X^Y'] }, [
        { kind: 'phone', value: '+852 9123 4567' },
        { kind: 'name', value: 'y x' },
      ]).confirmed,
    ).toBe(true);
    expect(
      identify({ phone: ['4567'], name: ['X^Y'] }, [
        { kind: 'phone', value: '+852 9123 4567' },
        { kind: 'name', value: 'y x' },
      ]).confirmed,
    ).toBe(false);
  });
});
