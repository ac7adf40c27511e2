import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyIndex } from '../index-sql/kysely-index.js';
import type { Database as Schema } from '../index-sql/schema.js';

export interface SqliteIndexOptions {
  /** Database file, or ':memory:'. */
  readonly file: string;
}

/**
 * The embedded index: one SQLite file in WAL mode. synchronous=FULL makes each committed transaction durable
 * before the archive acknowledges the object it records.
 */
export function openSqliteIndex(options: SqliteIndexOptions): KyselyIndex {
  const db = new Database(options.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const kdb = new Kysely<Schema>({ dialect: new SqliteDialect({ database: db }) });
  return new KyselyIndex(kdb, 'sqlite');
}
