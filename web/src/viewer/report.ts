/**
 * Measurements kept in the archive, not in the browser: the annotations drawn on a study become a DICOM
 * Comprehensive SR measurement report (TID 1500, through Cornerstone's adapters and dcmjs, as OHIF writes
 * them) stored with STOW-RS; reopening the study reads the reports back onto the images. Key images become a
 * Key Object Selection document (TID 2010, "Of Interest").
 */
import { adaptersSR } from '@cornerstonejs/adapters';
import { metaData } from '@cornerstonejs/core';
import { annotation } from '@cornerstonejs/tools';
import dcmjs from 'dcmjs';
import { IMPLEMENTATION_CLASS_UID } from '../../../src/version.js';
import { dicomJson, stow } from '../api.js';
import { type JsonDataset, str } from '../lib/dicom-json.js';
import { instanceOfImage, MEASUREMENT_TOOLS } from './cornerstone.js';

const { MeasurementReport } = adaptersSR.Cornerstone3D;
const { DicomMetaDictionary, DicomMessage, DicomDict } = dcmjs.data;

/** SOP classes of the documents the viewer writes and reads. */
export const SR_CLASSES = {
  comprehensive: '1.2.840.10008.5.1.4.1.1.88.33',
  enhanced: '1.2.840.10008.5.1.4.1.1.88.22',
  keyObjectSelection: '1.2.840.10008.5.1.4.1.1.88.59',
} as const;

/** Patient and study attributes a report carries over from the images it measures (PS3.3 C.7.1.1, C.7.2.1). */
const PATIENT_STUDY_KEYWORDS = [
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'PatientBirthDate',
  'PatientSex',
  'OtherPatientIDsSequence',
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'AccessionNumber',
  'StudyID',
  'ReferringPhysicianName',
  'StudyDescription',
] as const;

type Ann = ReturnType<typeof annotation.state.getAllAnnotations>[number];

/** The annotations of a study's images that a report can hold. */
export function studyAnnotations(studyUid: string): Ann[] {
  return annotation.state
    .getAllAnnotations()
    .filter(
      (a) =>
        MEASUREMENT_TOOLS.has(a.metadata?.toolName ?? '') &&
        a.metadata?.referencedImageId?.includes(`/studies/${studyUid}/`),
    );
}

/** A Part 10 file of a naturalised data set (dcmjs). */
function part10(dataset: Record<string, unknown>, meta: Record<string, unknown>): ArrayBuffer {
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return dict.write() as ArrayBuffer;
}

function fileMeta(sopClassUid: string, sopInstanceUid: string): Record<string, unknown> {
  return {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'LANTERN_WEB',
  };
}

/** Writes the study's measurements as one TID 1500 report and stores it; its SOP Instance UID. */
export async function saveMeasurements(studyUid: string, author: string): Promise<string> {
  const anns = studyAnnotations(studyUid);
  if (!anns.length) throw new Error('There are no measurements to save.');
  const toolState: Record<string, Record<string, { data: Ann[] }>> = {};
  for (const a of anns) {
    const imageId = a.metadata!.referencedImageId!;
    const tool = a.metadata!.toolName;
    ((toolState[imageId] ??= {})[tool] ??= { data: [] }).data.push(a);
  }
  const report = MeasurementReport.generateReport(toolState, metaData, {
    SeriesDescription: 'Measurements',
    SeriesNumber: 9001,
    Manufacturer: 'Lantern',
    PersonName: author,
  });
  const ds = report.dataset as Record<string, unknown>;
  // The report belongs to the images' patient and study: their identifying attributes exactly as stored,
  // or the archive would take it for another patient's and quarantine it.
  const source = DicomMetaDictionary.naturalizeDataset(
    structuredClone(instanceOfImage.get(anns[0].metadata!.referencedImageId!)!.instance) as Record<
      string,
      unknown
    >,
  );
  for (const k of PATIENT_STUDY_KEYWORDS) {
    if (source[k] !== undefined) ds[k] = source[k];
    else delete ds[k];
  }
  ds.SpecificCharacterSet = 'ISO_IR 192';
  ds.StudyInstanceUID = studyUid;
  const uid = String(ds.SOPInstanceUID);
  await stow(part10(ds, fileMeta(String(ds.SOPClassUID), uid)), studyUid);
  return uid;
}

/** The reports (SR documents) stored with a study, newest first. */
async function reportsOf(studyUid: string): Promise<JsonDataset[]> {
  const q = new URLSearchParams();
  for (const k of ['SOPClassUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'ContentDate', 'ContentTime'])
    q.append('includefield', k);
  q.set('SOPClassUID', `${SR_CLASSES.comprehensive}\\${SR_CLASSES.enhanced}`);
  return dicomJson(`/dicom-web/studies/${studyUid}/instances`, q);
}

/** A stored object whole, as Part 10 (WADO-URI). */
async function fetchPart10(studyUid: string, seriesUid: string, sopUid: string): Promise<ArrayBuffer> {
  const q = new URLSearchParams({
    requestType: 'WADO',
    studyUID: studyUid,
    seriesUID: seriesUid,
    objectUID: sopUid,
    contentType: 'application/dicom',
  });
  const res = await fetch(`/wado?${q}`, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`could not read report ${sopUid} (${res.status})`);
  return res.arrayBuffer();
}

/**
 * Puts the measurements of the study's stored reports back on its images (whose metadata must be loaded:
 * the report's coordinates are in their pixels). Returns how many were shown.
 */
export async function loadMeasurements(studyUid: string): Promise<number> {
  const byImage: Record<string, string> = {};
  for (const [imageId, img] of instanceOfImage) {
    if (imageId.includes(`/studies/${studyUid}/`))
      byImage[`${str(img.instance, 'SOPInstanceUID')}:${img.frame}`] = imageId;
  }
  let shown = 0;
  const present = new Set(studyAnnotations(studyUid).map((a) => a.annotationUID));
  for (const r of await reportsOf(studyUid)) {
    const buf = await fetchPart10(studyUid, str(r, 'SeriesInstanceUID'), str(r, 'SOPInstanceUID'));
    const dict = DicomMessage.readFile(buf);
    const ds = DicomMetaDictionary.naturalizeDataset(dict.dict);
    if (ds.ContentTemplateSequence?.TemplateIdentifier !== '1500') continue;
    const state = MeasurementReport.generateToolState(ds, byImage, metaData, undefined) as Record<
      string,
      { annotation: Ann }[]
    >;
    for (const list of Object.values(state)) {
      for (const m of list) {
        const a = m.annotation;
        if (!a.metadata?.referencedImageId || present.has(a.annotationUID)) continue;
        annotation.state.addAnnotation(a, a.metadata.FrameOfReferenceUID ?? '');
        shown++;
      }
    }
  }
  return shown;
}

/** A DICOM DA and TM of now, local time. */
function nowDateTime(): { date: string; time: string } {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`,
    time: `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`,
  };
}

/** A key image as a KOS refers to it. */
export interface KeyImage {
  readonly seriesUid: string;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** For multi-frame images, the frame. */
  readonly frame?: number;
}

/** The key of a key image (instance and frame), to compare flags. */
export function keyOf(k: KeyImage): string {
  return `${k.sopInstanceUid}:${k.frame ?? 1}`;
}

/**
 * Writes the flagged images as a Key Object Selection document (PS3.3 A.35.4, TID 2010 with the title
 * "Of Interest", 113000 DCM) and stores it; its SOP Instance UID.
 */
export async function saveKeyImages(
  studyUid: string,
  keys: readonly KeyImage[],
  sample: JsonDataset,
  author: string,
): Promise<string> {
  if (!keys.length) throw new Error('No image is flagged as a key image.');
  const source = DicomMetaDictionary.naturalizeDataset(structuredClone(sample) as Record<string, unknown>);
  const sop = DicomMetaDictionary.uid();
  const { date, time } = nowDateTime();
  const bySeries = new Map<string, KeyImage[]>();
  for (const k of keys) bySeries.set(k.seriesUid, [...(bySeries.get(k.seriesUid) ?? []), k]);
  const ref = (k: KeyImage) => ({
    ReferencedSOPClassUID: k.sopClassUid,
    ReferencedSOPInstanceUID: k.sopInstanceUid,
    ...(k.frame && k.frame > 1 ? { ReferencedFrameNumber: k.frame } : {}),
  });
  const ds: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SR_CLASSES.keyObjectSelection,
    SOPInstanceUID: sop,
    Modality: 'KO',
    SeriesInstanceUID: DicomMetaDictionary.uid(),
    SeriesNumber: 9002,
    SeriesDescription: 'Key images',
    InstanceNumber: 1,
    Manufacturer: 'Lantern',
    ContentDate: date,
    ContentTime: time,
    ReferencedPerformedProcedureStepSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: studyUid,
        ReferencedSeriesSequence: [...bySeries].map(([seriesUid, list]) => ({
          SeriesInstanceUID: seriesUid,
          ReferencedSOPSequence: list.map(ref),
        })),
      },
    ],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [
      { CodeValue: '113000', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Of Interest' },
    ],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '2010' }],
    ContentSequence: [
      {
        RelationshipType: 'HAS OBS CONTEXT',
        ValueType: 'PNAME',
        ConceptNameCodeSequence: [
          { CodeValue: '121008', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Person Observer Name' },
        ],
        PersonName: author,
      },
      ...keys.map((k) => ({
        RelationshipType: 'CONTAINS',
        ValueType: 'IMAGE',
        ReferencedSOPSequence: [ref(k)],
      })),
    ],
  };
  for (const k of PATIENT_STUDY_KEYWORDS) if (source[k] !== undefined) ds[k] = source[k];
  ds.StudyInstanceUID = studyUid;
  await stow(part10(ds, fileMeta(SR_CLASSES.keyObjectSelection, sop)), studyUid);
  return sop;
}

/** The images flagged by the study's stored Key Object Selection documents. */
export async function loadKeyImages(studyUid: string): Promise<KeyImage[]> {
  const q = new URLSearchParams();
  for (const k of ['SeriesInstanceUID', 'SOPInstanceUID']) q.append('includefield', k);
  q.set('SOPClassUID', SR_CLASSES.keyObjectSelection);
  const out: KeyImage[] = [];
  for (const r of await dicomJson(`/dicom-web/studies/${studyUid}/instances`, q)) {
    const buf = await fetchPart10(studyUid, str(r, 'SeriesInstanceUID'), str(r, 'SOPInstanceUID'));
    const ds = DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(buf).dict);
    const list = (v: unknown) => (Array.isArray(v) ? v : v ? [v] : []) as Record<string, unknown>[];
    for (const study of list(ds.CurrentRequestedProcedureEvidenceSequence)) {
      for (const series of list(study.ReferencedSeriesSequence)) {
        for (const s of list(series.ReferencedSOPSequence)) {
          out.push({
            seriesUid: String(series.SeriesInstanceUID),
            sopClassUid: String(s.ReferencedSOPClassUID),
            sopInstanceUid: String(s.ReferencedSOPInstanceUID),
            frame: s.ReferencedFrameNumber ? Number(s.ReferencedFrameNumber) : undefined,
          });
        }
      }
    }
  }
  return out;
}
