import type { AuditStore } from '../../ports/audit.js';
import { KyselyAuditStore } from './audit.js';
import type { AccountStore } from '../../ports/accounts.js';
import { KyselyAccountStore } from './accounts.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { JobQueue } from '../../ports/job-queue.js';
import { KyselyJobQueue } from './jobs.js';
import * as changes from './changes.js';
import {
  CompiledQuery,
  type ExpressionBuilder,
  type Kysely,
  Migrator,
  type SelectQueryBuilder,
  sql,
  type Transaction,
} from 'kysely';
import type { JsonDataset } from '../../core/dicom/json.js';
import { LanternError, QueryError } from '../../core/errors.js';
import type {
  ChangeItem,
  ChangePlan,
  ChangeRecord,
  IndexFilter,
  IndexOrder,
  InstanceVersion,
  ArchiveIndex,
  IndexReader,
  IndexTx,
  IngestFacts,
  IngestSession,
  InstanceRecord,
  InstanceRow,
  Integrity,
  LevelQuery,
  LevelRow,
  PatientRow,
  QuarantineRecord,
  ReceivedInstance,
  StudyTransferRow,
  StudyRow,
} from '../../ports/archive-index.js';
import type { AeStore } from '../../ports/ae-store.js';
import type { IndexDatabase } from '../../ports/index-database.js';
import { KyselyAeStore } from './aes.js';
import { formatTag, lookupTag, Tag } from '../../core/dicom/dictionary.js';
import type { QueryLevel } from '../../core/query/levels.js';
import { migrationProvider } from './migrations.js';
import { nameKeys } from '../../core/query/person-name.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

const PATIENT_COLUMNS: readonly (readonly [number, string])[] = [
  [Tag.PatientID, 'patient.patient_id'],
  [Tag.PatientName, 'patient.name_upper'],
  [Tag.PatientBirthDate, 'patient.birth_date'],
];

/**
 * Columns a level query may filter on, per level and attribute, as `table.column`. PatientName filters
 * compare with `patient.name_upper`, except `nameKeys` filters, which select patients by their name keys.
 */
const FILTER_COLUMNS: Record<QueryLevel, ReadonlyMap<number, string>> = {
  PATIENT: new Map(PATIENT_COLUMNS),
  STUDY: new Map([
    ...PATIENT_COLUMNS,
    [Tag.StudyInstanceUID, 'study.study_uid'],
    [Tag.StudyDate, 'study.study_date'],
    [Tag.AccessionNumber, 'study.accession_number'],
    [Tag.StudyID, 'study.study_id'],
  ]),
  SERIES: new Map([
    [Tag.PatientID, 'patient.patient_id'],
    [Tag.PatientName, 'patient.name_upper'],
    [Tag.StudyInstanceUID, 'study.study_uid'],
    [Tag.SeriesInstanceUID, 'series.series_uid'],
    [Tag.Modality, 'series.modality'],
  ]),
  IMAGE: new Map([
    [Tag.PatientID, 'patient.patient_id'],
    [Tag.PatientName, 'patient.name_upper'],
    [Tag.StudyInstanceUID, 'study.study_uid'],
    [Tag.SeriesInstanceUID, 'series.series_uid'],
    [Tag.SOPInstanceUID, 'instance.sop_instance_uid'],
    [Tag.SOPClassUID, 'instance.sop_class_uid'],
  ]),
};

/**
 * Filter columns whose index narrows a query to few rows: on SQLite a query filtering on one of its own
 * level's is planned from that index and its matches sorted, not read in id order through the whole table
 * (the plan SQLite picks by itself when the query is paged in id order: a 30-day date range over 10,000
 * studies read them all). Modality and SOP Class are left out: most rows share a few values.
 */
const SELECTIVE_COLUMNS: ReadonlySet<string> = new Set([
  'patient.patient_id',
  'patient.name_upper',
  'patient.birth_date',
  'study.study_uid',
  'study.study_date',
  'study.accession_number',
  'series.series_uid',
  'instance.sop_instance_uid',
]);

/**
 * Columns a level query may sort on, per level and attribute: the study date sorts with its time, and what
 * is equal sorts by id (the order in which the archive first recorded it).
 */
const ORDER_COLUMNS: Record<QueryLevel, ReadonlyMap<number, readonly string[]>> = {
  PATIENT: new Map([
    [Tag.PatientName, ['patient.name_upper']],
    [Tag.PatientID, ['patient.patient_id']],
    [Tag.PatientBirthDate, ['patient.birth_date']],
  ]),
  STUDY: new Map([
    [Tag.PatientName, ['patient.name_upper']],
    [Tag.PatientID, ['patient.patient_id']],
    [Tag.PatientBirthDate, ['patient.birth_date']],
    [Tag.StudyDate, ['study.study_date', 'study.study_time']],
    [Tag.StudyTime, ['study.study_time']],
    [Tag.AccessionNumber, ['study.accession_number']],
    [Tag.StudyID, ['study.study_id']],
    [Tag.StudyDescription, ['study.description']],
    [Tag.ReferringPhysicianName, ['study.referring_physician']],
    [Tag.NumberOfStudyRelatedSeries, ['study.num_series']],
    [Tag.NumberOfStudyRelatedInstances, ['study.num_instances']],
  ]),
  SERIES: new Map([
    [Tag.SeriesNumber, ['series.series_number']],
    [Tag.Modality, ['series.modality']],
    [Tag.SeriesDescription, ['series.description']],
    [Tag.NumberOfSeriesRelatedInstances, ['series.num_instances']],
  ]),
  IMAGE: new Map([[Tag.InstanceNumber, ['instance.instance_number']]]),
};

/** The columns to sort on, or a QueryError naming the attribute the index cannot sort by. */
function orderColumns(level: QueryLevel, order: readonly IndexOrder[]): { col: string; desc: boolean }[] {
  return order.flatMap((o) => {
    const cols = ORDER_COLUMNS[level].get(o.tag);
    if (!cols) {
      const name = lookupTag(o.tag)?.keyword ?? formatTag(o.tag);
      throw new QueryError(`the ${level.toLowerCase()} level cannot be sorted by ${name}`);
    }
    return cols.map((col) => ({ col, desc: o.descending }));
  });
}

/** The column a filter applies to at a level, or undefined when the index leaves it to the exact matching. */
function filterColumn(level: QueryLevel, f: IndexFilter): string | undefined {
  const col = FILTER_COLUMNS[level].get(f.tag);
  if (col === undefined) return undefined;
  return f.op === 'nameKeys' ? 'patient.id' : col;
}

const parse = (s: string): JsonDataset => JSON.parse(s) as JsonDataset;

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** `*` and `?` wildcards to a LIKE pattern with `\` as escape. */
export function likePattern(pattern: string): string {
  let out = '';
  for (const ch of pattern) out += ch === '*' ? '%' : ch === '?' ? '_' : escapeLike(ch);
  return out;
}

type Dialect = 'sqlite' | 'postgres';

/**
 * The statements every stored instance runs, written once as SQL with `?` placeholders and turned into each
 * dialect's form once. The query builder costs more than these small indexed statements themselves; the
 * ingest path runs them as they are.
 */
const HOT = {
  facts: `select i.sha256 as instance_sha,
      s.id as study_id, s.patient_fk as study_patient_fk, sp.patient_id as study_patient_id,
      se.id as series_id, ss.study_uid as series_study_uid,
      p.id as patient_pk, p.name as patient_name, p.birth_date as patient_birth_date,
      p.changing as patient_changing, sp.changing as study_patient_changing
    from (select 1 as one) x
    left join instance i on i.sop_instance_uid = ?
    left join study s on s.study_uid = ?
    left join patient sp on sp.id = s.patient_fk
    left join series se on se.series_uid = ?
    left join study ss on ss.id = se.study_fk
    left join patient p on p.patient_id = ? and p.issuer = ?`,
  insertInstance: `insert into instance (series_fk, sop_instance_uid, sop_class_uid, instance_number,
      transfer_syntax_uid, blob_key, size, sha256, attrs, received_at, source_aet)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
  addReceived: `insert into received_instance (session_id, transfer, party, study_uid, sop_class_uid,
      sop_instance_uid, patient_id, status, received_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
  countSeriesInstance: 'update series set num_instances = num_instances + 1, updated_at = ? where id = ?',
  countStudyInstance: 'update study set num_instances = num_instances + 1, updated_at = ? where id = ?',
  countPatientInstance: 'update patient set num_instances = num_instances + 1, updated_at = ? where id = ?',
} as const;

const postgresText = new Map<string, string>();

function hot(dialect: Dialect, text: string, params: readonly unknown[]): CompiledQuery {
  if (dialect === 'sqlite') return CompiledQuery.raw(text, params as unknown[]);
  let pg = postgresText.get(text);
  if (pg === undefined) {
    let n = 0;
    pg = text.replace(/\?/g, () => `$${++n}`);
    postgresText.set(text, pg);
  }
  return CompiledQuery.raw(pg, params as unknown[]);
}

/**
 * Received objects (`received_instance`) of these ingest sessions or of sessions that no longer exist: their
 * transfers' records are due from a recovery.
 */
function leftIn(sessions: readonly number[]) {
  return (eb: ExpressionBuilder<Database, 'received_instance'>) =>
    eb.or([
      ...(sessions.length ? [eb('received_instance.session_id', 'in', [...sessions])] : []),
      eb.not(
        eb.exists(
          eb
            .selectFrom('ingest_session')
            .select('ingest_session.id')
            .whereRef('ingest_session.id', '=', 'received_instance.session_id'),
        ),
      ),
    ]);
}

class Reader implements IndexReader {
  constructor(
    protected readonly db: Db,
    readonly dialect: Dialect,
  ) {}

  protected async run<R>(text: string, params: readonly unknown[]): Promise<R[]> {
    return (await this.db.executeQuery<R>(hot(this.dialect, text, params))).rows;
  }

  async findInstance(sopInstanceUid: string): Promise<InstanceRow | undefined> {
    const r = await this.instanceSelect()
      .where('instance.sop_instance_uid', '=', sopInstanceUid)
      .executeTakeFirst();
    return r ? toInstanceRow(r) : undefined;
  }

  async findStudy(studyUid: string): Promise<StudyRow | undefined> {
    const r = await this.db
      .selectFrom('study')
      .innerJoin('patient', 'patient.id', 'study.patient_fk')
      .select(['study.id', 'study.patient_fk', 'study.study_uid', 'patient.patient_id', 'patient.issuer'])
      .where('study.study_uid', '=', studyUid)
      .executeTakeFirst();
    return r
      ? {
          id: Number(r.id),
          patientFk: Number(r.patient_fk),
          studyUid: r.study_uid,
          patientId: r.patient_id,
          patientIssuer: r.issuer,
        }
      : undefined;
  }

  async findSeries(seriesUid: string): Promise<{ id: number; studyUid: string } | undefined> {
    const r = await this.db
      .selectFrom('series')
      .innerJoin('study', 'study.id', 'series.study_fk')
      .select(['series.id', 'study.study_uid'])
      .where('series.series_uid', '=', seriesUid)
      .executeTakeFirst();
    return r ? { id: Number(r.id), studyUid: r.study_uid } : undefined;
  }

  async studyAttributes(studyFk: number): Promise<JsonDataset | undefined> {
    const r = await this.db.selectFrom('study').select('attrs').where('id', '=', studyFk).executeTakeFirst();
    return r ? (JSON.parse(r.attrs) as JsonDataset) : undefined;
  }

  async patientAttributes(
    patientFk: number,
  ): Promise<{ patient: JsonDataset; latestInstance?: JsonDataset } | undefined> {
    const p = await this.db
      .selectFrom('patient')
      .select('attrs')
      .where('id', '=', patientFk)
      .executeTakeFirst();
    if (!p) return undefined;
    const i = await this.db
      .selectFrom('instance')
      .innerJoin('series', 'series.id', 'instance.series_fk')
      .innerJoin('study', 'study.id', 'series.study_fk')
      .select('instance.attrs')
      .where('study.patient_fk', '=', patientFk)
      .orderBy('instance.id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return {
      patient: JSON.parse(p.attrs) as JsonDataset,
      ...(i ? { latestInstance: JSON.parse(i.attrs) as JsonDataset } : {}),
    };
  }

  async findPatient(patientId: string, issuer: string): Promise<PatientRow | undefined> {
    const r = await this.db
      .selectFrom('patient')
      .select(['id', 'patient_id', 'issuer', 'name', 'birth_date', 'sex'])
      .where('patient_id', '=', patientId)
      .where('issuer', '=', issuer)
      .executeTakeFirst();
    return r
      ? {
          id: Number(r.id),
          patientId: r.patient_id,
          issuer: r.issuer,
          name: r.name,
          birthDate: r.birth_date,
          sex: r.sex,
        }
      : undefined;
  }

  async ingestFacts(k: {
    sopInstanceUid: string;
    studyUid: string;
    seriesUid: string;
    patientId: string;
    issuer: string;
  }): Promise<IngestFacts> {
    // One round trip for every lookup the ingest decision needs.
    const rows = await this.run<{
      instance_sha: string | null;
      study_id: number | null;
      study_patient_fk: number | null;
      study_patient_id: string | null;
      series_id: number | null;
      series_study_uid: string | null;
      patient_pk: number | null;
      patient_name: string | null;
      patient_birth_date: string | null;
      patient_changing: number | string | null;
      study_patient_changing: number | string | null;
    }>(HOT.facts, [k.sopInstanceUid, k.studyUid, k.seriesUid, k.patientId, k.issuer]);
    const r = rows[0];
    const facts: { -readonly [K in keyof IngestFacts]: IngestFacts[K] } = {};
    if (r.instance_sha !== null) facts.instance = { sha256: r.instance_sha };
    if (r.study_id !== null) {
      facts.study = {
        id: Number(r.study_id),
        patientFk: Number(r.study_patient_fk),
        patientId: r.study_patient_id ?? '',
        changing: Number(r.study_patient_changing ?? 0) !== 0,
      };
    }
    if (r.series_id !== null) facts.series = { id: Number(r.series_id), studyUid: r.series_study_uid ?? '' };
    if (r.patient_pk !== null) {
      facts.patient = {
        id: Number(r.patient_pk),
        name: r.patient_name ?? '',
        birthDate: r.patient_birth_date ?? '',
        changing: Number(r.patient_changing ?? 0) !== 0,
      };
    }
    return facts;
  }

  private instanceSelect() {
    return this.db
      .selectFrom('instance')
      .innerJoin('series', 'series.id', 'instance.series_fk')
      .innerJoin('study', 'study.id', 'series.study_fk')
      .select([
        'instance.id',
        'instance.sop_instance_uid',
        'instance.sop_class_uid',
        'instance.transfer_syntax_uid',
        'instance.blob_key',
        'instance.size',
        'instance.sha256',
        'instance.received_at',
        'instance.integrity',
        'instance.verified_at',
        'series.series_uid',
        'study.study_uid',
      ]);
  }

  getChange(id: number): Promise<ChangeRecord | undefined> {
    return changes.getChange(this.db, id);
  }

  unfinishedChanges(): Promise<ChangeRecord[]> {
    return changes.unfinishedChanges(this.db);
  }

  changeItems(changeId: number): Promise<ChangeItem[]> {
    return changes.changeItems(this.db, changeId);
  }

  versionsOf(instanceFk: number): Promise<InstanceVersion[]> {
    return changes.versionsOf(this.db, instanceFk);
  }

  versionsDue(at: string, limit: number): Promise<InstanceVersion[]> {
    return changes.versionsDue(this.db, at, limit);
  }

  async instancesOfPatients(patientFks: readonly number[]): Promise<InstanceRow[]> {
    if (!patientFks.length) return [];
    const rows = await this.instanceSelect()
      .where('study.patient_fk', 'in', [...patientFks])
      .orderBy('instance.id')
      .execute();
    return rows.map(toInstanceRow);
  }

  async instancesById(ids: readonly number[]): Promise<(InstanceRow & { attrs: string })[]> {
    const out: (InstanceRow & { attrs: string })[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.instanceSelect()
        .select('instance.attrs')
        .where('instance.id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.push({ ...toInstanceRow(r), attrs: r.attrs });
    }
    return out;
  }

  async damagedInstances(afterId: number, limit: number): Promise<InstanceRow[]> {
    const rows = await this.instanceSelect()
      .where('instance.integrity', '<>', '')
      .where('instance.id', '>', afterId)
      .orderBy('instance.id')
      .limit(limit)
      .execute();
    return rows.map(toInstanceRow);
  }

  async ingestSessions(nodeId: string): Promise<IngestSession[]> {
    const rows = await this.db
      .selectFrom('ingest_session')
      .selectAll()
      .where('node_id', '=', nodeId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      nodeId: r.node_id,
      pid: Number(r.pid),
      processToken: r.process_token,
      confirmedInstanceId: Number(r.confirmed_instance_id),
      confirmedQuarantineId: Number(r.confirmed_quarantine_id),
      updatedAt: r.updated_at,
    }));
  }

  async countReceived(sessionIds: readonly number[]): Promise<number> {
    const r = await this.db
      .selectFrom('received_instance')
      .select((eb) => eb.fn.countAll().as('n'))
      .where(leftIn(sessionIds))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async receivedOf(sessionId: number): Promise<(ReceivedInstance & { id: number })[]> {
    const rows = await this.db
      .selectFrom('received_instance')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      transfer: r.transfer,
      party: r.party,
      studyUid: r.study_uid,
      sopClassUid: r.sop_class_uid,
      sopInstanceUid: r.sop_instance_uid,
      patientId: r.patient_id,
      status: r.status as ReceivedInstance['status'],
      receivedAt: r.received_at,
    }));
  }

  async listInstances(afterId: number, limit: number): Promise<InstanceRow[]> {
    const rows = await this.instanceSelect()
      .where('instance.id', '>', afterId)
      .orderBy('instance.id')
      .limit(limit)
      .execute();
    return rows.map(toInstanceRow);
  }

  async instancesByUid(uids: { study?: string; series?: string; instance?: string }): Promise<InstanceRow[]> {
    let q = this.instanceSelect();
    if (uids.study !== undefined) q = q.where('study.study_uid', '=', uids.study);
    if (uids.series !== undefined) q = q.where('series.series_uid', '=', uids.series);
    if (uids.instance !== undefined) q = q.where('instance.sop_instance_uid', '=', uids.instance);
    const rows = await q
      .orderBy('series.series_number')
      .orderBy('series.id')
      .orderBy('instance.instance_number')
      .orderBy('instance.id')
      .execute();
    return rows.map(toInstanceRow);
  }

  async listQuarantine(afterId: number, limit: number): Promise<(QuarantineRecord & { id: number })[]> {
    const rows = await this.db
      .selectFrom('quarantine')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      blobKey: r.blob_key,
      reasonCode: r.reason_code,
      reason: r.reason,
      sopInstanceUid: r.sop_instance_uid,
      studyUid: r.study_uid,
      patientId: r.patient_id,
      size: Number(r.size),
      sha256: r.sha256,
      receivedAt: r.received_at,
      sourceAet: r.source_aet,
    }));
  }

  async studyTransfers(studyUids: readonly string[]): Promise<Map<string, StudyTransferRow>> {
    const out = new Map<string, StudyTransferRow>();
    if (!studyUids.length) return out;
    const uids = [...new Set(studyUids)];
    const studies = await this.db
      .selectFrom('study')
      .select(['study_uid', 'updated_at', 'transfer_problem', 'transfer_problem_at'])
      .where('study_uid', 'in', uids)
      .execute();
    for (const r of studies) {
      out.set(r.study_uid, {
        lastReceivedAt: r.updated_at,
        transferProblem: r.transfer_problem,
        transferProblemAt: r.transfer_problem_at,
        quarantined: 0,
      });
    }
    const held = await this.db
      .selectFrom('quarantine')
      .select((eb) => ['study_uid', eb.fn.countAll<number>().as('n')])
      .where('study_uid', 'in', uids)
      .groupBy('study_uid')
      .execute();
    for (const q of held) {
      const row = out.get(q.study_uid);
      out.set(q.study_uid, {
        lastReceivedAt: row?.lastReceivedAt ?? '',
        transferProblem: row?.transferProblem ?? '',
        transferProblemAt: row?.transferProblemAt ?? '',
        quarantined: Number(q.n),
      });
    }
    return out;
  }

  async counts() {
    const one = async (t: 'patient' | 'study' | 'series' | 'instance' | 'quarantine') =>
      Number(
        (
          await this.db
            .selectFrom(t)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      patients: await one('patient'),
      studies: await one('study'),
      series: await one('series'),
      instances: await one('instance'),
      quarantined: await one('quarantine'),
    };
  }

  async sizes() {
    const sum = async (t: 'instance' | 'quarantine') =>
      Number(
        (
          await this.db
            .selectFrom(t)
            .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { stored: await sum('instance'), quarantined: await sum('quarantine') };
  }

  async studySummaries(studyIds: readonly number[], want = { modalities: true, sopClasses: true }) {
    const out = new Map<number, { modalities: string[]; sopClasses: string[] }>();
    if (!studyIds.length) return out;
    for (const id of studyIds) out.set(id, { modalities: [], sopClasses: [] });
    if (want.modalities) await this.modalitiesOf(studyIds, out);
    if (want.sopClasses) await this.sopClassesOf(studyIds, out);
    return out;
  }

  private async modalitiesOf(
    studyIds: readonly number[],
    out: Map<number, { modalities: string[]; sopClasses: string[] }>,
  ) {
    const mods = await this.db
      .selectFrom('series')
      .select(['study_fk', 'modality'])
      .distinct()
      .where('study_fk', 'in', studyIds as number[])
      .orderBy('modality')
      .execute();
    for (const m of mods) if (m.modality) out.get(Number(m.study_fk))?.modalities.push(m.modality);
  }

  private async sopClassesOf(
    studyIds: readonly number[],
    out: Map<number, { modalities: string[]; sopClasses: string[] }>,
  ) {
    const classes = await this.db
      .selectFrom('instance')
      .innerJoin('series', 'series.id', 'instance.series_fk')
      .select(['series.study_fk', 'instance.sop_class_uid'])
      .distinct()
      .where('series.study_fk', 'in', studyIds as number[])
      .orderBy('instance.sop_class_uid')
      .execute();
    for (const c of classes) out.get(Number(c.study_fk))?.sopClasses.push(c.sop_class_uid);
  }

  async queryLevel(q: LevelQuery): Promise<LevelRow[]> {
    // Each level selects its own row and its parents' attributes; the level's own counts are kept columns.
    const db = this.db as Kysely<Database>;
    let qb: AnyQB;
    switch (q.level) {
      case 'PATIENT':
        qb = db
          .selectFrom('patient')
          .select([
            'patient.id',
            'patient.attrs',
            'patient.num_studies',
            'patient.num_series',
            'patient.num_instances',
          ]);
        break;
      case 'STUDY':
        qb = db
          .selectFrom('study')
          .innerJoin('patient', 'patient.id', 'study.patient_fk')
          .select([
            'study.id',
            'study.id as study_fk',
            'study.attrs',
            'patient.attrs as patient_attrs',
            'study.num_series',
            'study.num_instances',
          ]);
        break;
      case 'SERIES':
        qb = db
          .selectFrom('series')
          .innerJoin('study', 'study.id', 'series.study_fk')
          .innerJoin('patient', 'patient.id', 'study.patient_fk')
          .select([
            'series.id',
            'series.study_fk',
            'series.attrs',
            'study.attrs as study_attrs',
            'patient.attrs as patient_attrs',
            'series.num_instances',
          ]);
        break;
      case 'IMAGE':
        qb = db
          .selectFrom('instance')
          .innerJoin('series', 'series.id', 'instance.series_fk')
          .innerJoin('study', 'study.id', 'series.study_fk')
          .innerJoin('patient', 'patient.id', 'study.patient_fk')
          .select([
            'instance.id',
            'series.study_fk',
            'instance.attrs',
            'series.attrs as series_attrs',
            'study.attrs as study_attrs',
            'patient.attrs as patient_attrs',
          ]);
        break;
    }
    const table = { PATIENT: 'patient', STUDY: 'study', SERIES: 'series', IMAGE: 'instance' }[q.level];
    let selective = false;
    for (const f of q.filters) {
      if (q.level === 'STUDY' && (f.op === 'eq' || f.op === 'in')) {
        // Modalities and SOP Classes in Study from the series' and instances' own columns (indexes
        // series_modality_study_idx, instance_sop_class_idx): the studies come from the index, not from
        // reading every study and its summary.
        const values = sql.join((f.op === 'eq' ? [f.value] : f.values).map((v) => sql`${v}`));
        if (f.tag === Tag.ModalitiesInStudy) {
          qb = qb.where(
            sql<boolean>`study.id in (select m.study_fk from series m where m.modality in (${values}))`,
          );
          continue;
        }
        if (f.tag === Tag.SOPClassesInStudy) {
          qb = qb.where(
            sql<boolean>`study.id in (select m.study_fk from instance c join series m on m.id = c.series_fk where c.sop_class_uid in (${values}))`,
          );
          continue;
        }
      }
      const col = filterColumn(q.level, f);
      if (!col) continue; // other keys are matched afterwards
      qb = applyFilter(qb, col, f);
      // Only a filter on the level's own table competes with its id order (a parent's is joined through
      // an index that takes the id bound too).
      if (f.op !== 'like' && f.op !== 'nameKeys' && SELECTIVE_COLUMNS.has(col) && col.startsWith(`${table}.`))
        selective = true;
    }
    if (q.order?.length) {
      const cols = orderColumns(q.level, q.order);
      for (const c of cols) qb = qb.orderBy(c.col, c.desc ? 'desc' : 'asc');
      qb = qb.orderBy(`${table}.id`, cols[0].desc ? 'desc' : 'asc').offset(q.skip ?? 0);
    } else if (selective && this.dialect === 'sqlite') {
      // `+id`: the id bound is no index constraint, so SQLite plans from the selective filter's index.
      qb = qb.where(sql<boolean>`+${sql.ref(`${table}.id`)} > ${q.afterId}`).orderBy(`${table}.id`);
    } else {
      qb = qb.where(`${table}.id`, '>', q.afterId).orderBy(`${table}.id`);
    }
    const rows = (await qb.limit(q.limit).execute()) as LevelRowData[];
    const n = (v: number | undefined) => (v === undefined || v === null ? undefined : Number(v));
    return rows.map((r) => ({
      id: Number(r.id),
      attrs: parse(r.attrs),
      patientAttrs: parse(r.patient_attrs ?? r.attrs),
      studyAttrs: r.study_attrs ? parse(r.study_attrs) : undefined,
      seriesAttrs: r.series_attrs ? parse(r.series_attrs) : undefined,
      counts: { studies: n(r.num_studies), series: n(r.num_series), instances: n(r.num_instances) },
      studyFk: n(r.study_fk),
    }));
  }
}

// Filter columns are chosen at run time from FILTER_COLUMNS, which kysely cannot type: hence `any` here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQB = SelectQueryBuilder<any, any, any>;

interface LevelRowData {
  id: number;
  attrs: string;
  patient_attrs?: string;
  study_attrs?: string;
  series_attrs?: string;
  study_fk?: number;
  num_studies?: number;
  num_series?: number;
  num_instances?: number;
}

function applyFilter(qb: AnyQB, col: string, f: IndexFilter): AnyQB {
  const ref = sql.ref(col);
  switch (f.op) {
    case 'eq':
      return qb.where(sql<boolean>`${ref} = ${f.value}`);
    case 'in':
      return qb.where(sql<boolean>`${ref} in (${sql.join(f.values.map((v) => sql`${v}`))})`);
    case 'like':
      return qb.where(sql<boolean>`${ref} like ${likePattern(f.pattern)} escape '\\'`);
    case 'range': {
      let out = qb;
      if (f.low !== undefined) out = out.where(sql<boolean>`${ref} >= ${f.low}`);
      if (f.high !== undefined) out = out.where(sql<boolean>`${ref} <= ${f.high}`);
      return out;
    }
    case 'nameKeys': {
      // One index range (and exact sound codes) per query component, every one required.
      let out = qb;
      for (const l of f.lookups) {
        const exact = l.exact.length ? sql` or k.key in (${sql.join(l.exact.map((e) => sql`${e}`))})` : sql``;
        out = out.where(
          sql<boolean>`${ref} in (select k.patient_fk from patient_name_key k where (k.key >= ${l.prefix} and k.key < ${`${l.prefix}\u{10FFFF}`})${exact})`,
        );
      }
      return out;
    }
  }
}

function toInstanceRow(r: {
  id: number;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  blob_key: string;
  size: number | string;
  sha256: string;
  received_at: string;
  integrity: string;
  verified_at: string;
  series_uid: string;
  study_uid: string;
}): InstanceRow {
  return {
    id: Number(r.id),
    sopInstanceUid: r.sop_instance_uid,
    sopClassUid: r.sop_class_uid,
    transferSyntaxUid: r.transfer_syntax_uid,
    blobKey: r.blob_key,
    size: Number(r.size),
    sha256: r.sha256,
    receivedAt: r.received_at,
    integrity: r.integrity as Integrity,
    verifiedAt: r.verified_at,
    seriesUid: r.series_uid,
    studyUid: r.study_uid,
  };
}

class Tx extends Reader implements IndexTx {
  constructor(
    private readonly tx: Transaction<Database>,
    dialect: Dialect,
  ) {
    super(tx, dialect);
  }

  async insertInstance(rec: InstanceRecord, facts: IngestFacts): Promise<number> {
    const db = this.tx;
    const now = rec.instance.receivedAt;
    let patientFk = facts.study?.patientFk ?? facts.patient?.id;
    if (patientFk === undefined) {
      const r = await db
        .insertInto('patient')
        .values({
          patient_id: rec.patient.patientId,
          issuer: rec.patient.issuer,
          name: rec.patient.name,
          name_upper: rec.patient.name.toLocaleUpperCase(),
          birth_date: rec.patient.birthDate,
          sex: rec.patient.sex,
          attrs: JSON.stringify(rec.patient.attrs),
          num_studies: 0,
          num_series: 0,
          num_instances: 0,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      patientFk = Number(r.id);
      // The name's fuzzy matching keys (a change of the name must rewrite them).
      const keys = nameKeys(rec.patient.name).map((key) => ({ patient_fk: patientFk!, key }));
      if (keys.length) await db.insertInto('patient_name_key').values(keys).execute();
    }
    let studyFk = facts.study?.id;
    if (studyFk === undefined) {
      const r = await db
        .insertInto('study')
        .values({
          patient_fk: patientFk,
          study_uid: rec.study.studyUid,
          study_date: rec.study.date,
          study_time: rec.study.time,
          accession_number: rec.study.accessionNumber,
          study_id: rec.study.studyId,
          description: rec.study.description,
          referring_physician: rec.study.referringPhysician,
          attrs: JSON.stringify(rec.study.attrs),
          num_series: 0,
          num_instances: 0,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      studyFk = Number(r.id);
      await db
        .updateTable('patient')
        .set((eb) => ({ num_studies: eb('num_studies', '+', 1) }))
        .where('id', '=', patientFk)
        .execute();
    }
    let seriesFk = facts.series?.id;
    if (seriesFk === undefined) {
      const r = await db
        .insertInto('series')
        .values({
          study_fk: studyFk,
          series_uid: rec.series.seriesUid,
          modality: rec.series.modality,
          series_number: rec.series.number,
          description: rec.series.description,
          attrs: JSON.stringify(rec.series.attrs),
          num_instances: 0,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      seriesFk = Number(r.id);
      await db
        .updateTable('study')
        .set((eb) => ({ num_series: eb('num_series', '+', 1) }))
        .where('id', '=', studyFk)
        .execute();
      await db
        .updateTable('patient')
        .set((eb) => ({ num_series: eb('num_series', '+', 1) }))
        .where('id', '=', patientFk)
        .execute();
    }
    const i = rec.instance;
    const [row] = await this.run<{ id: number | string }>(HOT.insertInstance, [
      seriesFk,
      i.sopInstanceUid,
      i.sopClassUid,
      i.number,
      i.transferSyntaxUid,
      i.blobKey,
      i.size,
      i.sha256,
      i.attrsJson,
      now,
      i.sourceAet,
    ]);
    await this.run(HOT.countSeriesInstance, [now, seriesFk]);
    await this.run(HOT.countStudyInstance, [now, studyFk]);
    await this.run(HOT.countPatientInstance, [now, patientFk]);
    return Number(row.id);
  }

  async removeInstance(id: number): Promise<boolean> {
    const db = this.tx;
    const row = await db
      .selectFrom('instance')
      .innerJoin('series', 'series.id', 'instance.series_fk')
      .innerJoin('study', 'study.id', 'series.study_fk')
      .select(['series.id as series_id', 'study.id as study_id', 'study.patient_fk as patient_id'])
      .where('instance.id', '=', id)
      .executeTakeFirst();
    if (!row) return false;
    const seriesId = Number(row.series_id);
    const studyId = Number(row.study_id);
    const patientId = Number(row.patient_id);
    await db.deleteFrom('instance').where('id', '=', id).execute();
    const less = (table: 'series' | 'study' | 'patient', key: number, series = 0, studies = 0) =>
      db
        .updateTable(table)
        .set((eb) => ({
          num_instances: eb('num_instances', '-', 1),
          ...(series ? { num_series: eb('num_series', '-', series) } : {}),
          ...(studies ? { num_studies: eb('num_studies', '-', studies) } : {}),
        }))
        .where('id', '=', key)
        .returning('num_instances')
        .executeTakeFirstOrThrow()
        .then((r) => Number(r.num_instances));
    // The last instance of a series takes the series with it, and so on up to the patient.
    const seriesLeft = await less('series', seriesId);
    if (seriesLeft === 0) await db.deleteFrom('series').where('id', '=', seriesId).execute();
    const seriesGone = seriesLeft === 0 ? 1 : 0;
    const studyLeft = await less('study', studyId, seriesGone);
    if (studyLeft === 0) await db.deleteFrom('study').where('id', '=', studyId).execute();
    const studyGone = studyLeft === 0 ? 1 : 0;
    const patientLeft = await less('patient', patientId, seriesGone, studyGone);
    if (patientLeft === 0) {
      await db.deleteFrom('patient_name_key').where('patient_fk', '=', patientId).execute();
      await db.deleteFrom('patient').where('id', '=', patientId).execute();
    }
    return true;
  }

  createChange(kind: string, plan: ChangePlan, createdBy: string, at: string): Promise<number> {
    return changes.createChange(this.tx, kind, plan, createdBy, at);
  }

  prepareChangeItem(changeId: number, item: ChangeItem): Promise<void> {
    return changes.prepareChangeItem(this.tx, changeId, item);
  }

  applyChange(changeId: number, at: string, keepUntil: string): Promise<boolean> {
    return changes.applyChange(this.tx, changeId, at, keepUntil);
  }

  failChange(changeId: number, error: string, at: string): Promise<void> {
    return changes.failChange(this.tx, changeId, error, at);
  }

  removeVersions(ids: readonly number[]): Promise<void> {
    return changes.removeVersions(this.tx, ids);
  }

  async recordVerification(
    results: readonly { readonly id: number; readonly integrity: Integrity }[],
    at: string,
  ): Promise<void> {
    // One statement per outcome: a page of whole objects is one update.
    for (const integrity of ['', 'mismatch', 'missing'] as const) {
      const ids = results.filter((r) => r.integrity === integrity).map((r) => r.id);
      for (let i = 0; i < ids.length; i += 500) {
        await this.tx
          .updateTable('instance')
          .set({ verified_at: at, integrity })
          .where('id', 'in', ids.slice(i, i + 500))
          .execute();
      }
    }
  }

  async removeQuarantine(id: number): Promise<boolean> {
    const r = await this.tx.deleteFrom('quarantine').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async openIngestSession(
    nodeId: string,
    pid: number,
    processToken: string,
    at: string,
  ): Promise<IngestSession> {
    const db = this.tx;
    const [i, q] = await Promise.all([
      db
        .selectFrom('instance')
        .select((eb) => eb.fn.max('id').as('m'))
        .executeTakeFirst(),
      db
        .selectFrom('quarantine')
        .select((eb) => eb.fn.max('id').as('m'))
        .executeTakeFirst(),
    ]);
    const confirmedInstanceId = Number(i?.m ?? 0);
    const confirmedQuarantineId = Number(q?.m ?? 0);
    const r = await db
      .insertInto('ingest_session')
      .values({
        node_id: nodeId,
        pid,
        process_token: processToken,
        confirmed_instance_id: confirmedInstanceId,
        confirmed_quarantine_id: confirmedQuarantineId,
        updated_at: at,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return {
      id: Number(r.id),
      nodeId,
      pid,
      processToken,
      confirmedInstanceId,
      confirmedQuarantineId,
      updatedAt: at,
    };
  }

  async confirmIngestSession(
    session: IngestSession,
    instanceId: number,
    quarantineId: number,
    at: string,
  ): Promise<void> {
    await this.tx
      .insertInto('ingest_session')
      .values({
        id: session.id,
        node_id: session.nodeId,
        pid: session.pid,
        process_token: session.processToken,
        confirmed_instance_id: instanceId,
        confirmed_quarantine_id: quarantineId,
        updated_at: at,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          confirmed_instance_id: instanceId,
          confirmed_quarantine_id: quarantineId,
          updated_at: at,
        }),
      )
      .execute();
  }

  async closeIngestSession(id: number): Promise<void> {
    await this.tx.deleteFrom('ingest_session').where('id', '=', id).execute();
  }

  async addReceived(sessionId: number, r: ReceivedInstance): Promise<number> {
    const [row] = await this.run<{ id: number | string }>(HOT.addReceived, [
      sessionId,
      r.transfer,
      r.party,
      r.studyUid,
      r.sopClassUid,
      r.sopInstanceUid,
      r.patientId,
      r.status,
      r.receivedAt,
    ]);
    return Number(row.id);
  }

  async removeReceived(sessionId: number, ids: readonly number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      await this.tx
        .deleteFrom('received_instance')
        .where('session_id', '=', sessionId)
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
    }
  }

  async adoptReceived(fromSessions: readonly number[], toSession: number): Promise<number> {
    // The sessions are named first: an update that waited for another recovery's claim re-checks its rows
    // against this list (PostgreSQL re-reads a waited-for row, not what a subquery found).
    const orphans = await this.tx
      .selectFrom('received_instance')
      .select('session_id')
      .distinct()
      .where(leftIn([]))
      .execute();
    const from = [...new Set([...fromSessions, ...orphans.map((o) => Number(o.session_id))])].filter(
      (id) => id !== toSession,
    );
    if (!from.length) return 0;
    const r = await this.tx
      .updateTable('received_instance')
      .set({ session_id: toSession })
      .where('session_id', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async addQuarantine(rec: QuarantineRecord): Promise<number> {
    const r = await this.tx
      .insertInto('quarantine')
      .values({
        blob_key: rec.blobKey,
        reason_code: rec.reasonCode,
        reason: rec.reason,
        sop_instance_uid: rec.sopInstanceUid,
        study_uid: rec.studyUid,
        patient_id: rec.patientId,
        size: rec.size,
        sha256: rec.sha256,
        received_at: rec.receivedAt,
        source_aet: rec.sourceAet,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async setTransferProblem(studyUids: readonly string[], problem: string, at: string): Promise<void> {
    if (!studyUids.length) return;
    let q = this.tx
      .updateTable('study')
      .set({ transfer_problem: problem, transfer_problem_at: problem ? at : '' })
      .where('study_uid', 'in', [...new Set(studyUids)]);
    // Clearing touches only the studies that had a problem: a completed transfer writes nothing else.
    if (!problem) q = q.where('transfer_problem', '<>', '');
    await q.execute();
  }
}

/** Errors on which a unit of work is retried: serialization failures, deadlocks, unique races, busy. */
function retryable(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === '40001' || code === '40P01' || code === '23505' || code === 'SQLITE_BUSY';
}

interface Unit {
  fn: (tx: IndexTx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * The index database over kysely, shared by the SQLite and PostgreSQL adapters: the archive index itself,
 * and the other stores that live in the same database.
 */
export class KyselyIndex extends Reader implements ArchiveIndex, IndexDatabase {
  readonly archive: ArchiveIndex = this;
  readonly aes: AeStore;
  readonly accounts: AccountStore;
  readonly audit: AuditStore;
  readonly jobs: JobQueue;
  private readonly queue: Unit[] = [];
  private flushing = false;

  /**
   * @param groupCommit run units of work that arrive together in one database transaction, each inside its
   * own savepoint (so one failing unit rolls back alone), and acknowledge them after the one commit. SQLite
   * has one writer and syncs its log at every commit: grouping shares that sync among concurrent arrivals.
   */
  constructor(
    private readonly kdb: Kysely<Database>,
    dialect: Dialect,
    private readonly options: {
      groupCommit?: boolean;
      /** Makes a commit durable (e.g. syncs SQLite's log off the main thread); units wait for it. */
      afterCommit?: () => Promise<void>;
      /** Releases what the adapter holds besides the connection. */
      onClose?: () => Promise<void>;
      /** The time the job queue's leases and run times are reckoned in. */
      clock?: Clock;
      /** The audit trail's store, when the dialect needs one of its own. */
      audit?: AuditStore;
    } = {},
  ) {
    super(kdb, dialect);
    this.aes = new KyselyAeStore(kdb);
    this.accounts = new KyselyAccountStore(kdb);
    this.audit = options.audit ?? new KyselyAuditStore(kdb, dialect);
    this.jobs = new KyselyJobQueue(kdb, dialect, options.clock ?? systemClock, options.afterCommit);
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.kdb, provider: migrationProvider(this.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new LanternError(
        'LNT_INDEX_FAILED',
        `index migration ${failed ?? ''} failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** One unit of work; retried with jitter on transient conflicts, here and nowhere else. */
  async write<T>(fn: (tx: IndexTx) => Promise<T>): Promise<T> {
    if (this.options.groupCommit) {
      return new Promise<T>((resolve, reject) => {
        this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        if (!this.flushing) void this.flush();
      });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.kdb.transaction().execute(async (trx) => {
          return fn(new Tx(trx, this.dialect));
        });
      } catch (e) {
        if (attempt >= 5 || !retryable(e)) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      }
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 128);
        const done: { unit: Unit; ok: boolean; value: unknown }[] = [];
        try {
          const trx = await this.kdb.startTransaction().execute();
          try {
            if (batch.length === 1) {
              // Alone in its transaction: no savepoint needed, a failure rolls the whole transaction back.
              const unit = batch[0];
              try {
                const value = await unit.fn(new Tx(trx, this.dialect));
                done.push({ unit, ok: true, value });
              } catch (e) {
                await trx.rollback().execute();
                unit.reject(e);
                continue;
              }
            } else {
              for (const unit of batch) {
                const sp = await trx.savepoint('unit').execute();
                try {
                  const value = await unit.fn(new Tx(sp, this.dialect));
                  await sp.releaseSavepoint('unit').execute();
                  done.push({ unit, ok: true, value });
                } catch (e) {
                  await sp.rollbackToSavepoint('unit').execute();
                  await sp.releaseSavepoint('unit').execute();
                  done.push({ unit, ok: false, value: e });
                }
              }
            }
            await trx.commit().execute();
          } catch (e) {
            await trx
              .rollback()
              .execute()
              .catch(() => undefined);
            throw e;
          }
        } catch (e) {
          // The transaction itself failed: nothing of the batch was recorded.
          for (const unit of batch) unit.reject(e);
          continue;
        }
        // Acknowledged only once durable; the next batch does not wait for this one's sync.
        const settle = () => {
          for (const d of done) (d.ok ? d.unit.resolve : d.unit.reject)(d.value);
        };
        if (this.options.afterCommit) {
          this.options.afterCommit().then(settle, (e: unknown) => {
            // Committed but maybe not durable: callers must not undo what the index may hold.
            const err = new LanternError(
              'LNT_STORAGE_FAILED',
              `index log could not be synced: ${(e as Error).message}`,
              {
                cause: e,
              },
            );
            for (const unit of batch) unit.reject(err);
          });
        } else settle();
      }
    } finally {
      this.flushing = false;
    }
  }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
    await this.options.onClose?.();
    await this.kdb.destroy();
  }
}
