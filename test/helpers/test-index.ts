import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database as Schema } from '../../src/adapters/index-sql/schema.js';
import { createTestDatabase } from './pg.js';

export type TestIndexKind = 'sqlite' | 'postgres';

function kindFrom(v: string | undefined): TestIndexKind {
  if (v === undefined || v === '' || v === 'sqlite') return 'sqlite';
  if (v === 'postgres') return 'postgres';
  throw new Error(`LANTERN_TEST_INDEX must be sqlite or postgres, not "${v}"`);
}

/**
 * The index the test archives and the CLI tests' data folders use, from LANTERN_TEST_INDEX: `sqlite` (the
 * default, a file in the data folder) or `postgres` (a database of its own on LANTERN_TEST_PG_URL's server).
 */
export const testIndex: TestIndexKind = kindFrom(process.env.LANTERN_TEST_INDEX);

/** Where one archive keeps its index; the data folder holds the stored objects either way. */
export interface TestIndexDatabase {
  /** The `index.url` setting: a fresh database under PostgreSQL, unset for SQLite in the data folder. */
  readonly url?: string;
  /** What a `lantern` command needs in its environment to find it (LANTERN_INDEX_URL); empty for SQLite. */
  readonly env: Readonly<Record<string, string>>;
  /** Removes the database (nothing for SQLite: it goes with the data folder). */
  drop(): Promise<void>;
}

export async function createTestIndex(): Promise<TestIndexDatabase> {
  if (testIndex === 'sqlite') return { env: {}, drop: async () => undefined };
  const db = await createTestDatabase();
  return { url: db.url, env: { LANTERN_INDEX_URL: db.url }, drop: db.drop };
}

/**
 * A connection of its own to an archive's index database, apart from the app's, with the settings the app
 * has (`app.config`): for tests that play someone with direct access to the database. Close it with
 * `destroy()`.
 */
export function openIndexDatabase(config: {
  readonly dataDir: string;
  readonly index: { readonly url?: string };
}): Kysely<Schema> {
  const dialect = config.index.url
    ? new PostgresDialect({ pool: new pg.Pool({ connectionString: config.index.url, max: 1 }) })
    : new SqliteDialect({ database: new Database(join(config.dataDir, 'index.sqlite')) });
  return new Kysely<Schema>({ dialect });
}
