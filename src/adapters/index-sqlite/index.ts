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
  cacheStatements(db);
  const kdb = new Kysely<Schema>({ dialect: new SqliteDialect({ database: db }) });
  return new KyselyIndex(kdb, 'sqlite', true);
}

/**
 * Reuses prepared statements: kysely prepares each query it runs, and preparing costs more than running the
 * small indexed queries of the ingest path. One connection runs one statement at a time, so sharing is safe.
 */
function cacheStatements(db: Database.Database, max = 256): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (!stmt) {
      stmt = prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(source, stmt);
    }
    return stmt;
  }) as typeof db.prepare;
}
