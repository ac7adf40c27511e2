/** One media range of an Accept header (RFC 9110 12.5.1), parameters lower-cased by name. */
export interface MediaRange {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
  readonly q: number;
}

/** One media type with its parameters (a Content-Type header, or one item of an Accept header). */
export function parseMediaType(text: string): MediaRange {
  const [type, ...rest] = splitOutsideQuotes(text, ';').map((s) => s.trim());
  const params: Record<string, string> = {};
  let q = 1;
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name === 'q') q = Number(value);
    else params[name] = value;
  }
  return { type: type.toLowerCase(), params, q };
}

/** The media ranges of an Accept header, best first (stable for equal q). Absent: `*\/*`. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header || !header.trim()) return [{ type: '*/*', params: {}, q: 1 }];
  const out = splitOutsideQuotes(header, ',')
    .map(parseMediaType)
    .filter((r) => r.type && Number.isFinite(r.q) && r.q > 0);
  return out
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.q - a.r.q || a.i - b.i)
    .map((x) => x.r);
}

/** Whether the Accept header admits DICOM JSON (or plain JSON). */
export function acceptsJson(header: string | undefined): boolean {
  return parseAccept(header).some(
    (r) => admits(r, 'application/dicom+json') || admits(r, 'application/json'),
  );
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Whether a media range admits `type` (`a/b`, `a/*` or `*\/*`). */
export function admits(range: MediaRange, type: string): boolean {
  if (range.type === '*/*') return true;
  if (range.type.endsWith('/*')) return type.startsWith(range.type.slice(0, -1));
  return range.type === type;
}
