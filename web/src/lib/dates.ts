/** Date ranges for the study list, as DICOM range matching wants them (PS3.4 C.2.2.2.5: "YYYYMMDD-YYYYMMDD"). */

export type DatePreset = 'any' | 'today' | 'yesterday' | 'last7' | 'last30';

export const DATE_PRESETS: readonly { readonly id: DatePreset; readonly label: string }[] = [
  { id: 'any', label: 'Any date' },
  { id: 'today', label: 'Today' },
  { id: 'yesterday', label: 'Yesterday' },
  { id: 'last7', label: 'Last 7 days' },
  { id: 'last30', label: 'Last 30 days' },
];

/** A local calendar date as a DICOM DA value. */
export function dicomDate(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}${p(d.getMonth() + 1)}${p(d.getDate())}`;
}

function daysBefore(now: Date, days: number): Date {
  // Calendar days, not 24-hour steps: a daylight-saving change keeps the date right.
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - days);
}

/** The StudyDate key of a preset on the local calendar of `now` ('' for any date). */
export function presetRange(preset: DatePreset, now: Date): string {
  switch (preset) {
    case 'any':
      return '';
    case 'today':
      return dicomDate(now);
    case 'yesterday':
      return dicomDate(daysBefore(now, 1));
    case 'last7':
      return `${dicomDate(daysBefore(now, 6))}-${dicomDate(now)}`;
    case 'last30':
      return `${dicomDate(daysBefore(now, 29))}-${dicomDate(now)}`;
  }
}

/** A range from two HTML date inputs ("2024-05-01"), either side open; '' when both are empty. */
export function inputRange(from: string, to: string): string {
  const f = from.replaceAll('-', '');
  const t = to.replaceAll('-', '');
  if (!f && !t) return '';
  if (f && t && f === t) return f;
  return `${f}-${t}`;
}

/** A DA value as a reader expects it (2024-05-01), or the raw text if it is not a date. */
export function formatDate(da: string | undefined): string {
  if (!da) return '';
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : da;
}

/** A TM value as hh:mm (or hh:mm:ss when seconds are given). */
export function formatTime(tm: string | undefined): string {
  if (!tm) return '';
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(tm);
  if (!m) return tm;
  return [m[1], m[2] ?? '00', ...(m[3] ? [m[3]] : [])].join(':');
}
