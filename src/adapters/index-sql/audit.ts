import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { AuditFilter, AuditRow, AuditStore } from '../../ports/audit.js';
import type { AuditRecordTable, Database } from './schema.js';

const list = (s: string): string[] => (s ? s.slice(1, -1).split('|') : []);
/** Multi-valued columns hold `|a|b|`, so that one value is found with LIKE '%|a|%'. */
const joined = (xs: readonly string[]): string => (xs.length ? `|${xs.join('|')}|` : '');

/** The LIKE pattern for one whole value of a multi-valued column, its own `%` and `_` taken literally. */
const contains = (v: string): string => `%|${v.replace(/[\\%_]/g, (c) => '\\' + c)}|%`;

function toRow(r: Selectable<AuditRecordTable>): AuditRow {
  return {
    id: Number(r.id),
    at: r.at,
    eventId: r.event_id,
    action: r.action,
    outcome: Number(r.outcome),
    userId: r.user_id,
    patientIds: list(r.patient_ids),
    studyUids: list(r.study_uids),
    event: r.event,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** The record that follows `head` in the chain. */
export function chained(
  rec: Omit<AuditRow, 'id' | 'prevHash' | 'hash'>,
  head: { readonly last_id: number | string; readonly last_hash: string },
  hash: (prevHash: string, id: number) => string,
): AuditRow {
  const id = Number(head.last_id) + 1;
  return { ...rec, id, prevHash: head.last_hash, hash: hash(head.last_hash, id) };
}

/** A record as the `audit_record` table keeps it. */
export function auditRecordValues(row: AuditRow): Insertable<AuditRecordTable> {
  return {
    id: row.id,
    at: row.at,
    event_id: row.eventId,
    action: row.action,
    outcome: row.outcome,
    user_id: row.userId,
    patient_ids: joined(row.patientIds),
    study_uids: joined(row.studyUids),
    event: row.event,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

export class KyselyAuditStore implements AuditStore {
  constructor(
    protected readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  async append(
    rec: Omit<AuditRow, 'id' | 'prevHash' | 'hash'>,
    hash: (prevHash: string, id: number) => string,
  ): Promise<AuditRow> {
    return this.db.transaction().execute(async (tx) => {
      // The head row serialises appenders (its row lock on PostgreSQL; SQLite has one writer).
      const head = await (this.dialect === 'postgres'
        ? tx.selectFrom('audit_head').selectAll().where('id', '=', 1).forUpdate().executeTakeFirstOrThrow()
        : tx.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirstOrThrow());
      const row = chained(rec, head, hash);
      await tx.insertInto('audit_record').values(auditRecordValues(row)).execute();
      await tx
        .updateTable('audit_head')
        .set({ last_id: row.id, last_hash: row.hash })
        .where('id', '=', 1)
        .execute();
      return row;
    });
  }

  async list(f: AuditFilter, limit: number, offset: number): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_record').selectAll();
    if (f.from) q = q.where('at', '>=', f.from);
    if (f.to) q = q.where('at', '<=', f.to);
    if (f.userId) q = q.where('user_id', '=', f.userId);
    if (f.eventId) q = q.where('event_id', '=', f.eventId);
    if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
    if (f.patientId) q = q.where(sql<boolean>`patient_ids like ${contains(f.patientId)} escape '\\'`);
    if (f.studyUid) q = q.where(sql<boolean>`study_uids like ${contains(f.studyUid)} escape '\\'`);
    return (await q.orderBy('id', 'desc').limit(limit).offset(offset).execute()).map(toRow);
  }

  async scan(afterId: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.db
      .selectFrom('audit_record')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRow);
  }

  async head(): Promise<{ id: number; hash: string } | undefined> {
    const h = await this.db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
    return h ? { id: Number(h.last_id), hash: h.last_hash } : undefined;
  }
}
