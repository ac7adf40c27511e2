import { CharacterSets } from '../../src/core/dicom/charset.js';
import { Dataset, EXPLICIT_LITTLE } from '../../src/core/dicom/dataset.js';
import { SopClass, Tag } from '../../src/core/dicom/dictionary.js';
import { bytesElement, numberElement, stringElement } from '../../src/core/dicom/encode.js';
import { buildMeta, encodePart10 } from '../../src/core/dicom/writer.js';
import { uid } from './synth.js';

/** What a phantom series is made of; every length in the image is known. */
export interface Phantom {
  readonly patientName: string;
  readonly patientId: string;
  readonly studyUid: string;
  readonly seriesUid: string;
  readonly slices: number;
  readonly size: number;
  /** Millimetres per pixel, both ways. */
  readonly spacing: number;
  /** Two bright markers on every slice, at these pixel columns of the middle row. */
  readonly markers: readonly [number, number];
  /** Their distance in millimetres. */
  readonly markerDistanceMm: number;
  /** Slice thickness and spacing, mm. */
  readonly sliceSpacing: number;
}

const AIR = -1000;
const WATER = 0;
const BONE = 1000;
const INTERCEPT = -1024;

/**
 * A synthetic CT series (signed 16-bit, Rescale Intercept -1024, axial, Image Position and Orientation set):
 * a water cylinder in air with two bone markers a known distance apart on every slice, and a slice number
 * drawn as a bar so that scrolling shows. Built with our own Part 10 writer.
 */
export function ctPhantom(
  o: Partial<Pick<Phantom, 'patientName' | 'patientId' | 'slices' | 'size' | 'spacing'>> & {
    studyDate?: string;
    studyDescription?: string;
    accession?: string;
    studyUid?: string;
  } = {},
): { phantom: Phantom; files: Buffer[] } {
  const size = o.size ?? 128;
  const slices = o.slices ?? 12;
  const spacing = o.spacing ?? 0.5;
  const markers: [number, number] = [Math.round(size * 0.25), Math.round(size * 0.75)];
  const phantom: Phantom = {
    patientName: o.patientName ?? 'Phantom^Water',
    patientId: o.patientId ?? `PH${process.pid}`,
    studyUid: o.studyUid ?? uid(),
    seriesUid: uid(),
    slices,
    size,
    spacing,
    markers,
    markerDistanceMm: (markers[1] - markers[0]) * spacing,
    sliceSpacing: 2.5,
  };
  const cs = CharacterSets.fromValue('ISO_IR 192');
  const s = (tag: number, vr: Parameters<typeof stringElement>[1], v: string | string[]) =>
    stringElement(tag, vr, Array.isArray(v) ? v : [v], cs);
  const files: Buffer[] = [];
  const mid = (size - 1) / 2;
  for (let z = 0; z < slices; z++) {
    const sop = uid();
    const px = new Uint8Array(size * size * 2);
    const dv = new DataView(px.buffer);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - mid, y - mid);
        let hu = r < size * 0.45 ? WATER : AIR;
        // The markers: 3x3 pixels of bone centred on the middle row.
        const row = Math.round(mid);
        if (Math.abs(y - row) <= 1 && (Math.abs(x - markers[0]) <= 1 || Math.abs(x - markers[1]) <= 1))
          hu = BONE;
        // The slice number as a bar along the top: z + 1 pixels of bone.
        if (y >= 4 && y < 8 && x >= 8 && x < 8 + (z + 1) * 4) hu = BONE;
        dv.setInt16((y * size + x) * 2, hu - INTERCEPT, true);
      }
    }
    const zmm = z * phantom.sliceSpacing;
    const origin = -((size - 1) * spacing) / 2;
    const ds = new Dataset(
      [
        stringElement(Tag.SpecificCharacterSet, 'CS', ['ISO_IR 192']),
        stringElement(Tag.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']),
        s(Tag.SOPClassUID, 'UI', SopClass.CTImageStorage),
        s(Tag.SOPInstanceUID, 'UI', sop),
        s(Tag.StudyDate, 'DA', o.studyDate ?? '20260115'),
        s(Tag.StudyTime, 'TM', '093000'),
        s(Tag.AccessionNumber, 'SH', o.accession ?? `ACC${process.pid}`),
        s(Tag.Modality, 'CS', 'CT'),
        s(Tag.ReferringPhysicianName, 'PN', 'Referrer^Rita'),
        s(Tag.StudyDescription, 'LO', o.studyDescription ?? 'CT PHANTOM'),
        s(Tag.SeriesDescription, 'LO', 'Axial 2.5 mm'),
        s(Tag.PatientName, 'PN', phantom.patientName),
        s(Tag.PatientID, 'LO', phantom.patientId),
        s(Tag.PatientBirthDate, 'DA', '19700101'),
        s(Tag.PatientSex, 'CS', 'O'),
        s(Tag.SliceThickness, 'DS', String(phantom.sliceSpacing)),
        s(Tag.StudyInstanceUID, 'UI', phantom.studyUid),
        s(Tag.SeriesInstanceUID, 'UI', phantom.seriesUid),
        s(Tag.StudyID, 'SH', '1'),
        s(Tag.SeriesNumber, 'IS', '2'),
        s(Tag.InstanceNumber, 'IS', String(z + 1)),
        s(Tag.ImagePositionPatient, 'DS', [String(origin), String(origin), String(zmm)]),
        s(Tag.ImageOrientationPatient, 'DS', ['1', '0', '0', '0', '1', '0']),
        s(Tag.FrameOfReferenceUID, 'UI', `${phantom.seriesUid}.1`),
        s(Tag.SliceLocation, 'DS', String(zmm)),
        numberElement(Tag.SamplesPerPixel, 'US', [1]),
        s(Tag.PhotometricInterpretation, 'CS', 'MONOCHROME2'),
        numberElement(Tag.Rows, 'US', [size]),
        numberElement(Tag.Columns, 'US', [size]),
        s(Tag.PixelSpacing, 'DS', [String(spacing), String(spacing)]),
        numberElement(Tag.BitsAllocated, 'US', [16]),
        numberElement(Tag.BitsStored, 'US', [16]),
        numberElement(Tag.HighBit, 'US', [15]),
        numberElement(Tag.PixelRepresentation, 'US', [1]),
        s(Tag.WindowCenter, 'DS', '40'),
        s(Tag.WindowWidth, 'DS', '400'),
        s(Tag.RescaleIntercept, 'DS', String(INTERCEPT)),
        s(Tag.RescaleSlope, 'DS', '1'),
        s(Tag.RescaleType, 'LO', 'HU'),
        bytesElement(Tag.PixelData, 'OW', px),
      ].sort((a, b) => a.tag - b.tag),
      EXPLICIT_LITTLE,
    );
    const meta = buildMeta({
      sopClassUid: SopClass.CTImageStorage,
      sopInstanceUid: sop,
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      implementationClassUid: '1.2.826.0.1.3680043.10.1137.1',
      implementationVersionName: 'LANTERN_TEST',
    });
    files.push(Buffer.from(encodePart10({ meta, dataset: ds })));
  }
  return { phantom, files };
}
