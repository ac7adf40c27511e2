import { describe, expect, it } from 'vitest';
import { DEFAULT_SORT, EMPTY_SEARCH, nameKey, nextSort, pageOf, studyQuery } from './study-query.js';
import { dicomDate, formatDate, formatTime, inputRange, presetRange } from './dates.js';

describe('study list search', () => {
  it('turns typed names into DICOM name keys', () => {
    expect(nameKey('doe')).toBe('doe*');
    expect(nameKey(' Doe, John ')).toBe('Doe^John*');
    expect(nameKey('D?e^J*')).toBe('D?e^J*');
    expect(nameKey('山田')).toBe('山田*');
    expect(nameKey('  ')).toBe('');
  });

  it('builds one QIDO-RS page with the return keys, sort and one row more than shown', () => {
    const q = studyQuery(
      { ...EMPTY_SEARCH, patientName: 'müller', modality: 'ct', fuzzy: true, description: 'chest' },
      DEFAULT_SORT,
      50,
      25,
    );
    expect(q.get('PatientName')).toBe('müller*');
    expect(q.get('ModalitiesInStudy')).toBe('CT');
    expect(q.get('StudyDescription')).toBe('*chest*');
    expect(q.get('fuzzymatching')).toBe('true');
    expect(q.getAll('orderby')).toEqual(['-StudyDate']);
    expect(q.get('offset')).toBe('50');
    expect(q.get('limit')).toBe('26');
    expect(q.getAll('includefield')).toContain('PatientBirthDate');
    expect(q.has('PatientID')).toBe(false);
    const byName = studyQuery(EMPTY_SEARCH, { key: 'PatientName', descending: false }, 0, 10);
    expect(byName.getAll('orderby')).toEqual(['PatientName', '-StudyDate']);
    expect(byName.has('fuzzymatching')).toBe(false);
  });

  it('pages without counting every match', () => {
    expect(pageOf([1, 2, 3], 2)).toEqual({ rows: [1, 2], more: true });
    expect(pageOf([1, 2], 2)).toEqual({ rows: [1, 2], more: false });
    expect(pageOf([], 2)).toEqual({ rows: [], more: false });
  });

  it('sorts by the column chosen, reversing on a second choice', () => {
    const s1 = nextSort(DEFAULT_SORT, 'PatientName');
    expect(s1).toEqual({ key: 'PatientName', descending: false });
    expect(nextSort(s1, 'PatientName')).toEqual({ key: 'PatientName', descending: true });
    expect(nextSort(s1, 'StudyDate')).toEqual({ key: 'StudyDate', descending: true });
  });
});

describe('date presets', () => {
  // From the real clock: the presets must hold on any day.
  const now = new Date();
  const day = (n: number) => dicomDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() - n));

  it('gives today, yesterday and the last 7 and 30 days as DICOM ranges on the local calendar', () => {
    expect(presetRange('any', now)).toBe('');
    expect(presetRange('today', now)).toBe(day(0));
    expect(presetRange('yesterday', now)).toBe(day(1));
    expect(presetRange('last7', now)).toBe(`${day(6)}-${day(0)}`);
    expect(presetRange('last30', now)).toBe(`${day(29)}-${day(0)}`);
    expect(day(0)).toMatch(/^\d{8}$/);
  });

  it('crosses month and year ends by calendar days', () => {
    expect(presetRange('yesterday', new Date(now.getFullYear(), 0, 1, 0, 30))).toBe(
      `${now.getFullYear() - 1}1231`,
    );
    // Six days back from noon on 3 March (noon: a daylight-saving hour cannot change the date).
    const march3 = new Date(now.getFullYear(), 2, 3, 12);
    const back = dicomDate(new Date(march3.getTime() - 6 * 86_400_000));
    expect(back).toMatch(/02(25|26)$/);
    expect(presetRange('last7', march3)).toBe(`${back}-${now.getFullYear()}0303`);
  });

  it('reads the date inputs and formats DA and TM for display', () => {
    expect(inputRange('2024-05-01', '2024-05-07')).toBe('20240501-20240507');
    expect(inputRange('', '2024-05-07')).toBe('-20240507');
    expect(inputRange('2024-05-01', '')).toBe('20240501-');
    expect(inputRange('2024-05-01', '2024-05-01')).toBe('20240501');
    expect(inputRange('', '')).toBe('');
    expect(formatDate('20240501')).toBe('2024-05-01');
    expect(formatDate('2024')).toBe('2024');
    expect(formatTime('0930')).toBe('09:30');
    expect(formatTime('093015.123')).toBe('09:30:15');
  });
});
