import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { AuditRow } from '../../ports/audit.js';
import { auditRecordValues, chained, KyselyAuditStore } from '../index-sql/audit.js';
import type { Database as Schema } from '../index-sql/schema.js';

/**
 * The audit trail on SQLite. An append reads the chain's head and writes after it; in a deferred
 * transaction another process (a `lantern` command beside the server) committing in between makes the write
 * fail at once (SQLite does not wait when the read is out of date). Here the append takes the write lock
 * before it reads (BEGIN IMMEDIATE, waiting up to the busy timeout) and runs in one synchronous step on the
 * connection, which it holds against the index's other units of work meanwhile.
 */
export class SqliteAuditStore extends KyselyAuditStore {
  constructor(
    kdb: Kysely<Schema>,
    private readonly raw: Database.Database,
  ) {
    super(kdb, 'sqlite');
  }

  override append(
    rec: Omit<AuditRow, 'id' | 'prevHash' | 'hash'>,
    hash: (prevHash: string, id: number) => string,
  ): Promise<AuditRow> {
    return this.db.connection().execute(async () => {
      const run = this.raw.transaction(() => {
        const head = this.raw.prepare('select last_id, last_hash from audit_head where id = 1').get() as
          { last_id: number; last_hash: string } | undefined;
        if (!head) throw new Error('the audit head row is missing');
        const row = chained(rec, head, hash);
        const v = auditRecordValues(row);
        this.raw
          .prepare(
            `insert into audit_record (id, at, event_id, action, outcome, user_id, patient_ids, study_uids,
              event, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            v.id,
            v.at,
            v.event_id,
            v.action,
            v.outcome,
            v.user_id,
            v.patient_ids,
            v.study_uids,
            v.event,
            v.prev_hash,
            v.hash,
          );
        this.raw
          .prepare('update audit_head set last_id = ?, last_hash = ? where id = 1')
          .run(row.id, row.hash);
        return row;
      });
      return run.immediate();
    });
  }
}
