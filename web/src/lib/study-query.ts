/**
 * The study list's search form as a QIDO-RS request (PS3.18 10.6): matching keys, fuzzy names, the return
 * attributes a radiographer verifies, sorting and paging.
 */

export interface StudySearch {
  readonly patientName: string;
  readonly patientId: string;
  readonly accessionNumber: string;
  /** A DICOM date or range ("20240501", "20240501-20240507", "-20240507"), or ''. */
  readonly studyDate: string;
  readonly modality: string;
  readonly referringPhysician: string;
  readonly description: string;
  /** Fuzzy person name matching (by sound, without case or accents). */
  readonly fuzzy: boolean;
}

export const EMPTY_SEARCH: StudySearch = {
  patientName: '',
  patientId: '',
  accessionNumber: '',
  studyDate: '',
  modality: '',
  referringPhysician: '',
  description: '',
  fuzzy: false,
};

/** Columns the list sorts on (server-side, `orderby`), by attribute keyword. */
export const SORTABLE = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'StudyDate',
  'AccessionNumber',
  'StudyDescription',
  'NumberOfStudyRelatedInstances',
] as const;
export type SortKey = (typeof SORTABLE)[number];

export interface Sort {
  readonly key: SortKey;
  readonly descending: boolean;
}

export const DEFAULT_SORT: Sort = { key: 'StudyDate', descending: true };

/** What each row shows beyond the defaults of the study level. */
export const RETURN_KEYS = [
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'AccessionNumber',
  'StudyDescription',
  'ReferringPhysicianName',
  'ModalitiesInStudy',
  'NumberOfStudyRelatedSeries',
  'NumberOfStudyRelatedInstances',
  'StudyInstanceUID',
] as const;

/**
 * A free-text name as a DICOM name key: the text as typed when it already holds wildcards or a component
 * separator, else "text*" so that the start of a family name finds it (as every PACS list does).
 */
export function nameKey(text: string): string {
  const t = text.trim();
  if (!t) return '';
  if (/[*?^]/.test(t)) return t;
  // "Doe, John" is how people type; DICOM writes "Doe^John".
  const comma = /^([^,]+),\s*(.+)$/.exec(t);
  if (comma) return `${comma[1].trim()}^${comma[2].trim()}*`;
  return `${t}*`;
}

/** Any other text key: as typed when it holds wildcards, else a prefix match. */
function textKey(text: string, prefix: boolean): string {
  const t = text.trim();
  if (!t) return '';
  if (/[*?]/.test(t) || !prefix) return t;
  return `${t}*`;
}

/** The query string of a QIDO-RS studies search for one page. */
export function studyQuery(s: StudySearch, sort: Sort, offset: number, limit: number): URLSearchParams {
  const q = new URLSearchParams();
  const put = (k: string, v: string) => {
    if (v) q.append(k, v);
  };
  put('PatientName', nameKey(s.patientName));
  put('PatientID', textKey(s.patientId, false));
  put('AccessionNumber', textKey(s.accessionNumber, false));
  put('StudyDate', s.studyDate);
  put('ModalitiesInStudy', s.modality.trim().toUpperCase());
  put('ReferringPhysicianName', nameKey(s.referringPhysician));
  put('StudyDescription', s.description.trim() ? `*${s.description.trim().replace(/^\*|\*$/g, '')}*` : '');
  if (s.fuzzy && (s.patientName.trim() || s.referringPhysician.trim())) q.append('fuzzymatching', 'true');
  for (const k of RETURN_KEYS) q.append('includefield', k);
  q.append('orderby', `${sort.descending ? '-' : ''}${sort.key}`);
  if (sort.key !== 'StudyDate') q.append('orderby', '-StudyDate');
  q.append('offset', String(offset));
  // One more than shown: its presence says there is a next page, without counting every match.
  q.append('limit', String(limit + 1));
  return q;
}

/** A page of results and whether another follows, from an answer asked with studyQuery's limit + 1. */
export function pageOf<T>(rows: readonly T[], limit: number): { rows: readonly T[]; more: boolean } {
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** The next sort when a column header is activated: the same column reverses, another starts ascending (dates descending). */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, descending: !current.descending };
  return { key, descending: key === 'StudyDate' };
}
