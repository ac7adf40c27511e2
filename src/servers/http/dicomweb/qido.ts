import { formatTag, lookupTag, parseTag, Tag } from '../../../core/dicom/dictionary.js';
import { QueryError } from '../../../core/errors.js';
import { type QueryKey, validateKey } from '../../../core/query/keys.js';
import type { QueryLevel } from '../../../core/query/levels.js';
import type { Vr } from '../../../core/dicom/vr.js';
import type { QueryRequest } from '../../../services/query.js';

/** Query parameters with a meaning of their own (PS3.18 8.3.4); every other name must be an attribute. */
const CONTROL = new Set(['includefield', 'fuzzymatching', 'limit', 'offset', 'orderby']);

/** At most this many sort keys in `orderby`. */
const MAX_ORDER_KEYS = 4;

/** A parsed QIDO-RS query string: the query service request, less the level and the path's UIDs. */
export interface QidoParams {
  readonly keys: QueryKey[];
  readonly includeAll: boolean;
  readonly fuzzy: boolean;
  readonly limit?: number;
  readonly offset: number;
  /** `orderby` (as dcm4chee's QIDO-RS has it): attributes, `-` before one for descending order. */
  readonly orderBy: readonly { readonly tag: number; readonly descending: boolean }[];
}

/**
 * The name/value pairs of a raw query string, percent-decoded. `+` stays `+` (RFC 3986 query, not a form):
 * a time zone offset or a UID list must not turn into spaces.
 */
export function queryPairs(rawQuery: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    try {
      out.push([decodeURIComponent(name), decodeURIComponent(value)]);
    } catch {
      throw new QueryError(
        `query parameter ${JSON.stringify(name.slice(0, 40))} is not valid percent-encoding`,
      );
    }
  }
  return out;
}

/** An attribute named by keyword or by tag (`PatientName`, `00100010`), as a tag and its VR. */
function attribute(id: string): { tag: number; vr: Vr } {
  const tag = parseTag(id);
  const entry = tag === undefined ? undefined : lookupTag(tag);
  if (tag === undefined || !entry) {
    throw new QueryError(`${JSON.stringify(id.slice(0, 64))} is not a known attribute keyword or tag`);
  }
  const vr = entry.vr.split(' or ')[0] as Vr;
  return { tag, vr };
}

/** One matching key from `attribute[.attribute...]=value`: a dotted path is a sequence match. */
function keyFromPath(path: string, value: string): QueryKey {
  const ids = path.split('.');
  const leaf = attribute(ids[ids.length - 1]);
  validateKey(leaf.tag, leaf.vr, value);
  let key: QueryKey = { tag: leaf.tag, vr: leaf.vr, value };
  for (let i = ids.length - 2; i >= 0; i--) {
    const seq = attribute(ids[i]);
    if (seq.vr !== 'SQ') throw new QueryError(`${ids[i]} is not a sequence, so it cannot hold ${ids[i + 1]}`);
    key = { tag: seq.tag, vr: 'SQ', value: '', items: [key] };
  }
  return key;
}

function integer(name: string, value: string, min: number): number {
  if (!/^\d+$/.test(value)) throw new QueryError(`${name} must be a non-negative integer`);
  const n = Number(value);
  if (n < min || !Number.isSafeInteger(n)) throw new QueryError(`${name} must be at least ${min}`);
  return n;
}

/**
 * PS3.18 8.3.4: matching, includefield, fuzzymatching, limit and offset; and orderby (an extension).
 * Bad input is a QueryError (400).
 */
export function parseQido(pairs: readonly [string, string][]): QidoParams {
  const keys: QueryKey[] = [];
  const seen = new Set<number>();
  let includeAll = false;
  let fuzzy = false;
  let limit: number | undefined;
  let offset = 0;
  const orderBy: { tag: number; descending: boolean }[] = [];
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (CONTROL.has(lower)) {
      switch (lower) {
        case 'includefield':
          for (const id of value.split(',')) {
            if (!id) continue;
            if (id === 'all') includeAll = true;
            else {
              const { tag, vr } = attribute(id);
              if (!seen.has(tag)) keys.push({ tag, vr, value: '' });
              seen.add(tag);
            }
          }
          break;
        case 'fuzzymatching':
          if (value !== 'true' && value !== 'false')
            throw new QueryError('fuzzymatching must be true or false');
          fuzzy = value === 'true';
          break;
        case 'limit':
          limit = integer('limit', value, 1);
          break;
        case 'offset':
          offset = integer('offset', value, 0);
          break;
        case 'orderby':
          for (const id of value.split(',')) {
            if (!id) continue;
            const descending = id.startsWith('-');
            const { tag } = attribute(descending ? id.slice(1) : id);
            if (orderBy.some((o) => o.tag === tag)) continue;
            orderBy.push({ tag, descending });
            if (orderBy.length > MAX_ORDER_KEYS)
              throw new QueryError(`orderby takes at most ${MAX_ORDER_KEYS} attributes`);
          }
          break;
      }
      continue;
    }
    const key = keyFromPath(name, value);
    const at = keys.findIndex((k) => k.tag === key.tag);
    if (at >= 0 && keys[at].value !== '') {
      throw new QueryError(`${formatTag(key.tag)} is given twice; use a list (a\\b) for several values`);
    }
    if (at >= 0) keys[at] = key;
    else keys.push(key);
    seen.add(key.tag);
  }
  return { keys, includeAll, fuzzy, limit, offset, orderBy };
}

/** The query service request for a QIDO-RS resource: the level, plus the UIDs its path names. */
export function qidoRequest(
  level: QueryLevel,
  params: QidoParams,
  path: { study?: string; series?: string },
): QueryRequest {
  const keys = params.keys.filter(
    (k) =>
      !(path.study && k.tag === Tag.StudyInstanceUID) && !(path.series && k.tag === Tag.SeriesInstanceUID),
  );
  for (const [tag, uid] of [
    [Tag.StudyInstanceUID, path.study],
    [Tag.SeriesInstanceUID, path.series],
  ] as const) {
    if (uid === undefined) continue;
    validateKey(tag, 'UI', uid);
    if (uid.includes('\\')) throw new QueryError('a UID in the path names one object');
    keys.unshift({ tag, vr: 'UI', value: uid });
  }
  return {
    level,
    keys,
    fuzzy: params.fuzzy,
    includeAll: params.includeAll,
    includeDefaults: true,
    limit: params.limit,
    offset: params.offset,
    ...(params.orderBy.length ? { orderBy: params.orderBy } : {}),
  };
}
