import { CharacterSets } from '../../src/core/dicom/charset.js';
import { Dataset, EXPLICIT_LITTLE, type DataElement } from '../../src/core/dicom/dataset.js';
import { SopClass, Tag } from '../../src/core/dicom/dictionary.js';
import { bytesElement, numberElement, sequenceElement, stringElement } from '../../src/core/dicom/encode.js';
import { buildMeta, encodePart10 } from '../../src/core/dicom/writer.js';

export interface SynthInstance {
  patientId?: string;
  patientName?: string;
  birthDate?: string;
  sex?: string;
  studyUid?: string;
  seriesUid?: string;
  sopUid?: string;
  modality?: string;
  studyDate?: string;
  studyTime?: string;
  accession?: string;
  studyDescription?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  rows?: number;
  columns?: number;
  charset?: string;
  /** Other Patient IDs: a bare ID (type TEXT), or one with its issuer (`HKID` marks an HKID number). */
  otherPatientIds?: (string | { readonly id: string; readonly issuer: string })[];
  address?: string;
  phone?: string;
  /** Pixel bytes; default rows*columns*2 bytes of a ramp. */
  pixels?: Uint8Array;
}

let counter = 0;
export function uid(): string {
  counter++;
  return `1.2.826.0.1.3680043.10.1137.${process.pid}.${Date.now() % 1_000_000}.${counter}`;
}

/** A CT image (explicit VR little endian Part 10 file) built with our own writer. */
export function synthInstance(o: SynthInstance = {}): {
  bytes: Buffer;
  sopUid: string;
  studyUid: string;
  seriesUid: string;
} {
  const cs = CharacterSets.fromValue(o.charset ?? 'ISO_IR 192');
  const rows = o.rows ?? 16;
  const columns = o.columns ?? 16;
  const studyUid = o.studyUid ?? uid();
  const seriesUid = o.seriesUid ?? uid();
  const sopUid = o.sopUid ?? uid();
  const s = (tag: number, vr: Parameters<typeof stringElement>[1], v: string) =>
    stringElement(tag, vr, [v], cs);
  const pixels =
    o.pixels ??
    (() => {
      const p = new Uint8Array(rows * columns * 2);
      const dv = new DataView(p.buffer);
      for (let i = 0; i < rows * columns; i++) dv.setUint16(i * 2, i % 4096, true);
      return p;
    })();
  const els: DataElement[] = [
    stringElement(Tag.SpecificCharacterSet, 'CS', [o.charset ?? 'ISO_IR 192']),
    stringElement(Tag.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']),
    s(Tag.SOPClassUID, 'UI', SopClass.CTImageStorage),
    s(Tag.SOPInstanceUID, 'UI', sopUid),
    s(Tag.StudyDate, 'DA', o.studyDate ?? '20260115'),
    s(Tag.StudyTime, 'TM', o.studyTime ?? '093000'),
    s(Tag.AccessionNumber, 'SH', o.accession ?? 'ACC0001'),
    s(Tag.Modality, 'CS', o.modality ?? 'CT'),
    s(Tag.ReferringPhysicianName, 'PN', 'Referrer^Rita'),
    s(Tag.StudyDescription, 'LO', o.studyDescription ?? 'CT HEAD'),
    s(Tag.PatientName, 'PN', o.patientName ?? 'Doe^Jane'),
    s(Tag.PatientID, 'LO', o.patientId ?? 'PID0001'),
    s(Tag.PatientBirthDate, 'DA', o.birthDate ?? '19800101'),
    s(Tag.PatientSex, 'CS', o.sex ?? 'F'),
    ...(o.otherPatientIds
      ? [
          sequenceElement(
            Tag.OtherPatientIDsSequence,
            o.otherPatientIds.map(
              (id) =>
                new Dataset(
                  typeof id === 'string'
                    ? [s(Tag.PatientID, 'LO', id), s(Tag.TypeOfPatientID, 'CS', 'TEXT')]
                    : [
                        s(Tag.PatientID, 'LO', id.id),
                        s(Tag.IssuerOfPatientID, 'LO', id.issuer),
                        s(Tag.TypeOfPatientID, 'CS', 'TEXT'),
                      ],
                  EXPLICIT_LITTLE,
                ),
            ),
          ),
        ]
      : []),
    ...(o.address ? [s(Tag.PatientAddress, 'LO', o.address)] : []),
    ...(o.phone ? [s(Tag.PatientTelephoneNumbers, 'SH', o.phone)] : []),
    s(Tag.StudyInstanceUID, 'UI', studyUid),
    s(Tag.SeriesInstanceUID, 'UI', seriesUid),
    s(Tag.StudyID, 'SH', '1'),
    s(Tag.SeriesNumber, 'IS', String(o.seriesNumber ?? 1)),
    s(Tag.InstanceNumber, 'IS', String(o.instanceNumber ?? 1)),
    numberElement(Tag.SamplesPerPixel, 'US', [1]),
    s(Tag.PhotometricInterpretation, 'CS', 'MONOCHROME2'),
    numberElement(Tag.Rows, 'US', [rows]),
    numberElement(Tag.Columns, 'US', [columns]),
    stringElement(Tag.PixelSpacing, 'DS', ['0.5', '0.5']),
    numberElement(Tag.BitsAllocated, 'US', [16]),
    numberElement(Tag.BitsStored, 'US', [12]),
    numberElement(Tag.HighBit, 'US', [11]),
    numberElement(Tag.PixelRepresentation, 'US', [0]),
    stringElement(Tag.WindowCenter, 'DS', ['40']),
    stringElement(Tag.WindowWidth, 'DS', ['400']),
    bytesElement(Tag.PixelData, 'OW', pixels),
  ];
  const dataset = new Dataset(els, EXPLICIT_LITTLE);
  const meta = buildMeta({
    sopClassUid: SopClass.CTImageStorage,
    sopInstanceUid: sopUid,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    implementationClassUid: '1.2.826.0.1.3680043.10.1137.1',
    implementationVersionName: 'LANTERN_TEST',
  });
  return { bytes: Buffer.from(encodePart10({ meta, dataset })), sopUid, studyUid, seriesUid };
}
