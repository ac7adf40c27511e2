import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyIndex } from '../index-sql/kysely-index.js';
import type { Database as Schema } from '../index-sql/schema.js';

export interface PostgresIndexOptions {
  /** A postgres:// connection string. */
  readonly url: string;
  readonly maxConnections?: number;
}

/** The scale-out index: PostgreSQL through a connection pool. */
export function openPostgresIndex(options: PostgresIndexOptions): KyselyIndex {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  const kdb = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyIndex(kdb, 'postgres');
}
