import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuditFilter, AuditRow, AuditStore } from '../../ports/audit.js';
import type { AuditRecordTable, Database } from './schema.js';

const list = (s: string): string[] => (s ? s.slice(1, -1).split('|') : []);
/** Multi-valued columns hold `|a|b|`, so that one value is found with LIKE '%|a|%'. */
const joined = (xs: readonly string[]): string => (xs.length ? `|${xs.join('|')}|` : '');

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

export class KyselyAuditStore implements AuditStore {
  constructor(
    private readonly db: Kysely<Database>,
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
      const id = Number(head.last_id) + 1;
      const prevHash = head.last_hash;
      const h = hash(prevHash, id);
      await tx
        .insertInto('audit_record')
        .values({
          id,
          at: rec.at,
          event_id: rec.eventId,
          action: rec.action,
          outcome: rec.outcome,
          user_id: rec.userId,
          patient_ids: joined(rec.patientIds),
          study_uids: joined(rec.studyUids),
          event: rec.event,
          prev_hash: prevHash,
          hash: h,
        })
        .execute();
      await tx.updateTable('audit_head').set({ last_id: id, last_hash: h }).where('id', '=', 1).execute();
      return { ...rec, id, prevHash, hash: h };
    });
  }

  async list(f: AuditFilter, limit: number, offset: number): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_record').selectAll();
    if (f.from) q = q.where('at', '>=', f.from);
    if (f.to) q = q.where('at', '<=', f.to);
    if (f.userId) q = q.where('user_id', '=', f.userId);
    if (f.eventId) q = q.where('event_id', '=', f.eventId);
    if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
    if (f.patientId) q = q.where('patient_ids', 'like', sql<string>`${`%|${f.patientId}|%`}`);
    if (f.studyUid) q = q.where('study_uids', 'like', sql<string>`${`%|${f.studyUid}|%`}`);
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
