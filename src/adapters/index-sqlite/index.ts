import { type FileHandle, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { CoalescedSync, fsyncPath } from '../fs-sync/index.js';
import { KyselyIndex } from '../index-sql/kysely-index.js';
import { SqliteAuditStore } from './audit.js';
import type { Database as Schema } from '../index-sql/schema.js';
import type { Clock } from '../../ports/clock.js';

export interface SqliteIndexOptions {
  /** Database file, or ':memory:'. */
  readonly file: string;
  /** The job queue's time; the system clock when absent. */
  readonly clock?: Clock;
}

/**
 * The embedded index: one SQLite file in WAL mode. better-sqlite3 runs on the main thread, so SQLite's own
 * sync at each commit (synchronous=FULL) would stop all other work while the disk flushes. Instead SQLite
 * commits without syncing (synchronous=NORMAL) and the index syncs the log file itself, off the main thread,
 * before any unit of work is acknowledged: the same durability, shared among concurrent commits.
 */
export function openSqliteIndex(options: SqliteIndexOptions): KyselyIndex {
  const db = new Database(options.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  cacheStatements(db);
  const kdb = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: db }) });
  const { clock } = options;
  const audit = new SqliteAuditStore(kdb, db);
  if (options.file === ':memory:') return new KyselyIndex(kdb, 'sqlite', { groupCommit: true, clock, audit });
  const file = resolve(options.file);
  // The log file stays the same file while this connection is open (SQLite removes it only when the last
  // connection closes), so one descriptor serves every sync.
  let walHandle: Promise<FileHandle> | undefined;
  const wal = new CoalescedSync(async () => {
    walHandle ??= open(`${file}-wal`, 'r');
    try {
      await (await walHandle).datasync();
    } catch (e) {
      walHandle = undefined;
      throw e;
    }
  });
  let dirSynced = false;
  const afterCommit = async () => {
    await wal.request();
    if (!dirSynced) {
      // The log file's own entry in its folder, once.
      await fsyncPath(dirname(file));
      dirSynced = true;
    }
  };
  const onClose = async () => {
    const h = await walHandle?.catch(() => undefined);
    walHandle = undefined;
    await h?.close();
  };
  return new KyselyIndex(kdb, 'sqlite', { groupCommit: true, afterCommit, onClose, clock, audit });
}

/**
 * Transactions that take the write lock when they begin (BEGIN IMMEDIATE). Every transaction the index runs
 * writes; begun deferred, one that read before another process (a `lantern` command beside the server)
 * committed would fail at its first write, where SQLite cannot wait. Begun immediate, it waits for the lock
 * (up to the busy timeout) and then reads what is current.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new (class extends SqliteDriver {
      override async beginTransaction(connection: DatabaseConnection): Promise<void> {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      }
    })(this.settings);
  }
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
