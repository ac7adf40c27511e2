import { lookupTag, tagHex, Tag } from '../core/dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../core/dicom/json.js';
import { QueryError } from '../core/errors.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { QueryKey } from '../core/query/keys.js';
import { isUniversal, matchAll } from '../core/query/match.js';
import { exactNameLookups, indexLookup, nameQuery } from '../core/query/person-name.js';
import {
  PATIENT_KEYS,
  type QueryLevel,
  SERIES_KEYS,
  STUDY_KEYS,
  INSTANCE_KEYS,
} from '../core/query/levels.js';
import type { IndexFilter, IndexOrder, ArchiveIndex, LevelRow } from '../ports/archive-index.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';

export interface QueryRequest {
  readonly level: QueryLevel;
  /** Matching and return keys (PS3.4 C.2.2.1). Universal keys only ask for the attribute to be returned. */
  readonly keys: readonly QueryKey[];
  /** Fuzzy person name matching (fuzzy semantic matching requested): core/query/person-name.ts. */
  readonly fuzzy?: boolean;
  /** Return every attribute the level holds, not only the keys (QIDO-RS includefield=all). */
  readonly includeAll?: boolean;
  /** Return the level's default attributes as well as the keys (QIDO-RS without includefield=all). */
  readonly includeDefaults?: boolean;
  /** Skip this many matches. */
  readonly offset?: number;
  /**
   * Sort the matches by these attributes (an extension to PS3.18, as dcm4chee's `orderby`): attributes the
   * index keeps in columns at the level, else a QueryError. Without it, matches come in the order the
   * archive recorded them.
   */
  readonly orderBy?: readonly IndexOrder[];
  /** At most this many matches (capped by the service's own limit). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
  /** The AE title to name in RetrieveAETitle. */
  readonly retrieveAeTitle?: string;
  /** Who asks (needs study.read); absent: Lantern itself. */
  readonly actor?: Actor;
  /**
   * Record the query in the audit trail before it runs (PS3.15 Query): who asks, the information model
   * (SOP class) and the query as received (C-FIND identifier, QIDO-RS URL).
   */
  readonly audit?: { readonly by: Party; readonly model: string; readonly query: Uint8Array | string };
}

export interface QueryServiceOptions {
  /** The most results one query returns, whatever the request says. */
  readonly maxResults: number;
  /** Rows read from the index per page. */
  readonly pageSize?: number;
  /** Where queries with an `audit` are recorded. */
  readonly audit?: ClinicalAudit;
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/**
 * Filters that let the index narrow the rows to a superset of the matches, by attribute; the index applies
 * those on the attributes it keeps in columns. The exact matching happens in matchAll.
 */
export function indexFilters(keys: readonly QueryKey[], fuzzy = false): IndexFilter[] {
  const out: IndexFilter[] = [];
  for (const k of keys) {
    if (k.items || isUniversal(k)) continue;
    const tag = k.tag;
    const v = k.value;
    if (tag === Tag.PatientName) {
      if (fuzzy) {
        // Fuzzy names: candidates from the name key index, one lookup per query component.
        const lookups = nameQuery(v)
          .map(indexLookup)
          .filter((l) => l !== undefined);
        if (lookups.length) out.push({ tag, op: 'nameKeys', lookups });
        continue;
      }
      // Names match on the whole value or one of its component groups. The name key index finds the
      // candidates by the key's first component before any wildcard (folded: every match has it), and a
      // containment pattern on the upper-cased name narrows them further, except with `?`: a letter whose
      // upper case is longer (ß) would make the stored name longer than `?` allows.
      const lookups = exactNameLookups(v).slice(0, 1);
      if (lookups.length) out.push({ tag, op: 'nameKeys', lookups });
      if (!v.includes('?')) out.push({ tag, op: 'like', pattern: `*${v.toLocaleUpperCase()}*` });
      continue;
    }
    // Other person names match per component group: no single column value stands for them.
    if (k.vr === 'PN') continue;
    // Any of the values, as any of the study's modalities (the index looks at its series); wildcards are
    // left to the exact matching.
    if (tag === Tag.ModalitiesInStudy) {
      if (!hasWildcard(v)) out.push({ tag, op: 'in', values: v.split('\\') });
      continue;
    }
    if (k.vr === 'UI') out.push({ tag, op: 'in', values: v.split('\\') });
    else if (k.vr === 'DA') {
      const dash = v.indexOf('-');
      if (dash < 0) out.push({ tag, op: 'eq', value: v });
      else
        out.push({
          tag,
          op: 'range',
          low: v.slice(0, dash) || undefined,
          high: v.slice(dash + 1) || undefined,
        });
    } else if (hasWildcard(v)) out.push({ tag, op: 'like', pattern: v });
    else out.push({ tag, op: 'eq', value: v });
  }
  return out;
}

const DEFAULT_RETURN: Record<QueryLevel, readonly number[]> = {
  PATIENT: [
    ...PATIENT_KEYS,
    Tag.NumberOfPatientRelatedStudies,
    Tag.NumberOfPatientRelatedSeries,
    Tag.NumberOfPatientRelatedInstances,
  ],
  STUDY: [
    ...PATIENT_KEYS.slice(0, 4),
    Tag.PatientBirthDate,
    Tag.PatientSex,
    ...STUDY_KEYS,
    Tag.ModalitiesInStudy,
    Tag.NumberOfStudyRelatedSeries,
    Tag.NumberOfStudyRelatedInstances,
  ],
  SERIES: [Tag.StudyInstanceUID, ...SERIES_KEYS, Tag.NumberOfSeriesRelatedInstances],
  IMAGE: [Tag.StudyInstanceUID, Tag.SeriesInstanceUID, ...INSTANCE_KEYS],
};

const put = (out: JsonDataset, tag: number, attr: JsonAttribute) => {
  out[tagHex(tag)] = attr;
};

/**
 * The query engine behind C-FIND and QIDO-RS (PS3.4 C.2.2.2 matching over the index). Results stream a page
 * at a time and are capped; a failure of the index is an error, never an empty answer.
 */
export class QueryService {
  private readonly pageSize: number;
  constructor(
    private readonly index: ArchiveIndex,
    private readonly options: QueryServiceOptions,
  ) {
    this.pageSize = options.pageSize ?? 500;
  }

  /** Every match, as a DICOM JSON dataset of the keys asked for (or of the level's attributes). */
  query(req: QueryRequest): AsyncGenerator<JsonDataset> {
    return this.run(req, Math.min(req.limit ?? this.options.maxResults, this.options.maxResults));
  }

  /** Every match, without the result cap: for retrieval, which must not stop short (still paged). */
  queryAll(req: QueryRequest): AsyncGenerator<JsonDataset> {
    return this.run({ ...req, offset: 0 }, Number.MAX_SAFE_INTEGER);
  }

  /** Like query(), and then `{ more: true }` when more matches than the limit exist (QIDO-RS warns of it). */
  async *queryWithMore(req: QueryRequest): AsyncGenerator<JsonDataset | { more: true }> {
    const limit = Math.min(req.limit ?? this.options.maxResults, this.options.maxResults);
    let n = 0;
    for await (const r of this.run(req, limit + 1)) {
      if (++n > limit) {
        yield { more: true };
        return;
      }
      yield r;
    }
  }

  private async *run(req: QueryRequest, limit: number): AsyncGenerator<JsonDataset> {
    if (req.audit) await this.options.audit?.queried(req.audit.by, req.audit.model, req.audit.query);
    requirePermission(req.actor, 'study.read');
    if (limit <= 0) return;
    const offset = req.offset ?? 0;
    if (offset < 0 || !Number.isInteger(offset))
      throw new QueryError('offset must be a non-negative integer');
    const filters = indexFilters(req.keys, req.fuzzy);
    const matchKeys = req.keys.filter((k) => !isUniversal(k));
    const plan = responsePlan(req);
    let afterId = 0;
    let read = 0;
    let skipped = 0;
    let returned = 0;
    // Summaries (Modalities in Study, ...) are needed before matching only when a key matches on them;
    // otherwise they are read for the matches that are returned, not for every row read.
    const summariesFirst = matchKeys.some(
      (k) => k.tag === Tag.ModalitiesInStudy || k.tag === Tag.SOPClassesInStudy,
    );
    const wantSummaries = neededSummaries(req);
    const summariesOf = (rows: readonly LevelRow[]) =>
      this.index.studySummaries([...new Set(rows.map((r) => r.studyFk!).filter(Boolean))], wantSummaries);
    for (;;) {
      req.signal?.throwIfAborted();
      // Read a little more than is still wanted (rows may fail the exact matching), up to a page.
      const still = limit - returned + offset - skipped;
      const page = Math.min(this.pageSize, Math.max(20, still + (still >> 2) + 10));
      const rows = await this.index.queryLevel({
        level: req.level,
        filters,
        afterId,
        limit: page,
        ...(req.orderBy?.length ? { order: req.orderBy, skip: read } : {}),
      });
      if (!rows.length) return;
      afterId = rows[rows.length - 1].id;
      read += rows.length;
      const early = wantSummaries && summariesFirst ? await summariesOf(rows) : undefined;
      const matched: { row: LevelRow; merged: JsonDataset }[] = [];
      for (const row of rows) {
        const merged = this.merge(req, row, early?.get(row.studyFk ?? -1));
        if (!matchAll(matchKeys, merged, { fuzzy: req.fuzzy })) continue;
        if (skipped < offset) {
          skipped++;
          continue;
        }
        matched.push({ row, merged });
        if (returned + matched.length >= limit) break;
      }
      const late =
        wantSummaries && !summariesFirst && matched.length
          ? await summariesOf(matched.map((m) => m.row))
          : undefined;
      for (const m of matched) {
        if (late) this.summarise(m.merged, late.get(m.row.studyFk ?? -1));
        yield plan ? respond(plan, m.merged) : m.merged;
        if (++returned >= limit) return;
      }
      if (rows.length < page) return;
    }
  }

  private summarise(merged: JsonDataset, summary?: { modalities: string[]; sopClasses: string[] }): void {
    if (!summary) return;
    if (summary.modalities.length)
      put(merged, Tag.ModalitiesInStudy, { vr: 'CS', Value: summary.modalities });
    if (summary.sopClasses.length)
      put(merged, Tag.SOPClassesInStudy, { vr: 'UI', Value: summary.sopClasses });
  }

  private merge(
    req: QueryRequest,
    row: LevelRow,
    summary?: { modalities: string[]; sopClasses: string[] },
  ): JsonDataset {
    // Object.assign, not spread: on data sets of hundreds of attributes V8's spread is twenty times slower.
    const merged: JsonDataset = Object.assign(
      {},
      row.patientAttrs,
      row.studyAttrs,
      row.seriesAttrs,
      row.attrs,
    );
    const count = (tag: number, n: number | undefined) => {
      if (n !== undefined) put(merged, tag, { vr: 'IS', Value: [n] });
    };
    switch (req.level) {
      case 'PATIENT':
        count(Tag.NumberOfPatientRelatedStudies, row.counts.studies);
        count(Tag.NumberOfPatientRelatedSeries, row.counts.series);
        count(Tag.NumberOfPatientRelatedInstances, row.counts.instances);
        break;
      case 'STUDY':
        count(Tag.NumberOfStudyRelatedSeries, row.counts.series);
        count(Tag.NumberOfStudyRelatedInstances, row.counts.instances);
        break;
      case 'SERIES':
        count(Tag.NumberOfSeriesRelatedInstances, row.counts.instances);
        break;
      case 'IMAGE':
        break;
    }
    this.summarise(merged, summary);
    put(merged, Tag.InstanceAvailability, { vr: 'CS', Value: ['ONLINE'] });
    if (req.retrieveAeTitle) put(merged, Tag.RetrieveAETitle, { vr: 'AE', Value: [req.retrieveAeTitle] });
    return merged;
  }
}

/** The attributes a query returns, with the empty value each gets when a match lacks it; undefined: all. */
type ResponsePlan = readonly (readonly [string, JsonAttribute])[];

function responsePlan(req: QueryRequest): ResponsePlan | undefined {
  if (req.includeAll) return undefined;
  const wanted = new Set<number>(req.includeDefaults || !req.keys.length ? DEFAULT_RETURN[req.level] : []);
  for (const k of req.keys) wanted.add(k.tag);
  return [...wanted].map((t) => {
    const key = req.keys.find((x) => x.tag === t);
    // Asked for but absent: empty, with the attribute's own VR (the first where the dictionary offers two).
    return [tagHex(t), { vr: key?.vr ?? lookupTag(t)?.vr.slice(0, 2) ?? 'UN' }] as const;
  });
}

const CHARSET = tagHex(Tag.SpecificCharacterSet);

function respond(plan: ResponsePlan, merged: JsonDataset): JsonDataset {
  const out: JsonDataset = {};
  for (const [k, empty] of plan) out[k] = merged[k] ?? { ...empty };
  if (merged[CHARSET] && !out[CHARSET]) out[CHARSET] = merged[CHARSET];
  return out;
}

/** Which study summaries the request needs, matching or returned; undefined: none. */
function neededSummaries(req: QueryRequest): { modalities: boolean; sopClasses: boolean } | undefined {
  if (req.level !== 'STUDY') return undefined;
  const asks = (tag: number) => req.keys.some((k) => k.tag === tag);
  const defaults = req.includeDefaults || req.keys.length === 0;
  const want = {
    modalities: req.includeAll || defaults || asks(Tag.ModalitiesInStudy),
    sopClasses: req.includeAll || asks(Tag.SOPClassesInStudy),
  };
  return want.modalities || want.sopClasses ? want : undefined;
}

/** The default attributes a level returns (QIDO-RS without includefield). */
export function defaultReturnKeys(level: QueryLevel): readonly number[] {
  return DEFAULT_RETURN[level];
}
