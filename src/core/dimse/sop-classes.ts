/**
 * Service SOP classes of PS3.4 that the standard data this project generates from does not list (it lists the
 * storage SOP classes only): Verification (Annex A), Query/Retrieve (Annex C), Storage Commitment (Annex J).
 */
export const ServiceSopClass = {
  Verification: '1.2.840.10008.1.1',
  PatientRootFind: '1.2.840.10008.5.1.4.1.2.1.1',
  PatientRootMove: '1.2.840.10008.5.1.4.1.2.1.2',
  PatientRootGet: '1.2.840.10008.5.1.4.1.2.1.3',
  StudyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  StudyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  StudyRootGet: '1.2.840.10008.5.1.4.1.2.2.3',
  PatientStudyOnlyFind: '1.2.840.10008.5.1.4.1.2.3.1',
  PatientStudyOnlyMove: '1.2.840.10008.5.1.4.1.2.3.2',
  PatientStudyOnlyGet: '1.2.840.10008.5.1.4.1.2.3.3',
  StorageCommitmentPushModel: '1.2.840.10008.1.20.1',
} as const;

/** The query/retrieve levels each information model allows (PS3.4 C.6). */
export const MODEL_LEVELS: Record<string, readonly string[]> = {
  [ServiceSopClass.PatientRootFind]: ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'],
  [ServiceSopClass.PatientRootMove]: ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'],
  [ServiceSopClass.PatientRootGet]: ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'],
  [ServiceSopClass.StudyRootFind]: ['STUDY', 'SERIES', 'IMAGE'],
  [ServiceSopClass.StudyRootMove]: ['STUDY', 'SERIES', 'IMAGE'],
  [ServiceSopClass.StudyRootGet]: ['STUDY', 'SERIES', 'IMAGE'],
  [ServiceSopClass.PatientStudyOnlyFind]: ['PATIENT', 'STUDY'],
  [ServiceSopClass.PatientStudyOnlyMove]: ['PATIENT', 'STUDY'],
  [ServiceSopClass.PatientStudyOnlyGet]: ['PATIENT', 'STUDY'],
};
