import { Tag } from '../dicom/dictionary.js';

/** Query/retrieve levels (PS3.4 C.6). */
export type QueryLevel = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';

export const LEVELS: readonly QueryLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];

/**
 * Attributes that belong to each level: the keys of PS3.4 Tables C.6-1 to C.6-4 (patient root) and the
 * study-level additions of C.6-5 (study root: patient attributes are then also study keys). Each level's
 * stored attribute set is taken from the instances it holds; anything else is instance level.
 */
export const PATIENT_KEYS: readonly number[] = [
  Tag.PatientName,
  Tag.PatientID,
  Tag.IssuerOfPatientID,
  Tag.IssuerOfPatientIDQualifiersSequence,
  Tag.OtherPatientIDsSequence,
  Tag.OtherPatientNames,
  Tag.PatientBirthDate,
  Tag.PatientBirthTime,
  Tag.PatientSex,
  Tag.PatientTelephoneNumbers,
  Tag.PatientAddress,
  Tag.EthnicGroup,
  Tag.PatientComments,
  Tag.PatientSpeciesDescription,
  Tag.PatientBreedDescription,
  Tag.ResponsiblePerson,
  Tag.ResponsibleOrganization,
  Tag.PatientIdentityRemoved,
];

export const STUDY_KEYS: readonly number[] = [
  Tag.StudyDate,
  Tag.StudyTime,
  Tag.AccessionNumber,
  Tag.IssuerOfAccessionNumberSequence,
  Tag.StudyID,
  Tag.StudyInstanceUID,
  Tag.ReferringPhysicianName,
  Tag.StudyDescription,
  Tag.ProcedureCodeSequence,
  Tag.NameOfPhysiciansReadingStudy,
  Tag.AdmittingDiagnosesDescription,
  Tag.PatientAge,
  Tag.PatientSize,
  Tag.PatientWeight,
  Tag.Occupation,
  Tag.AdditionalPatientHistory,
  Tag.InstitutionName,
  Tag.TimezoneOffsetFromUTC,
];

export const SERIES_KEYS: readonly number[] = [
  Tag.Modality,
  Tag.SeriesNumber,
  Tag.SeriesInstanceUID,
  Tag.SeriesDescription,
  Tag.SeriesDate,
  Tag.SeriesTime,
  Tag.BodyPartExamined,
  Tag.Laterality,
  Tag.StationName,
  Tag.PerformedProcedureStepStartDate,
  Tag.PerformedProcedureStepStartTime,
  Tag.RequestAttributesSequence,
  Tag.Manufacturer,
  Tag.ManufacturerModelName,
  Tag.ProtocolName,
  Tag.OperatorsName,
];

export const INSTANCE_KEYS: readonly number[] = [
  Tag.SOPInstanceUID,
  Tag.SOPClassUID,
  Tag.InstanceNumber,
  Tag.ContentDate,
  Tag.ContentTime,
  Tag.Rows,
  Tag.Columns,
  Tag.BitsAllocated,
  Tag.NumberOfFrames,
];

/** Attributes the archive computes (PS3.4 C.3.4 and C.6.1.1.x "Additional Query/Retrieve Attributes"). */
export const COMPUTED_KEYS: ReadonlySet<number> = new Set([
  Tag.NumberOfPatientRelatedStudies,
  Tag.NumberOfPatientRelatedSeries,
  Tag.NumberOfPatientRelatedInstances,
  Tag.NumberOfStudyRelatedSeries,
  Tag.NumberOfStudyRelatedInstances,
  Tag.NumberOfSeriesRelatedInstances,
  Tag.ModalitiesInStudy,
  Tag.SOPClassesInStudy,
  Tag.InstanceAvailability,
  Tag.RetrieveAETitle,
  Tag.QueryRetrieveLevel,
  Tag.SpecificCharacterSet,
]);

const LEVEL_OF = new Map<number, QueryLevel>();
for (const t of PATIENT_KEYS) LEVEL_OF.set(t, 'PATIENT');
for (const t of STUDY_KEYS) LEVEL_OF.set(t, 'STUDY');
for (const t of SERIES_KEYS) LEVEL_OF.set(t, 'SERIES');

/** The level an attribute is stored at; anything not listed is an instance attribute. */
export function levelOf(tag: number): QueryLevel {
  return LEVEL_OF.get(tag) ?? 'IMAGE';
}

export function levelIndex(level: QueryLevel): number {
  return LEVELS.indexOf(level);
}
