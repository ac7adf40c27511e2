import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyIndex } from '../index-sql/kysely-index.js';
import type { Database as Schema } from '../index-sql/schema.js';
import type { Clock } from '../../ports/clock.js';

export interface PostgresIndexOptions {
  /** A postgres:// connection string. */
  readonly url: string;
  readonly maxConnections?: number;
  /** The job queue's time; the system clock when absent. */
  readonly clock?: Clock;
}

/** The scale-out index: PostgreSQL through a connection pool. */
export function openPostgresIndex(options: PostgresIndexOptions): KyselyIndex {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  // An idle connection the server ends (a restart, a failover, an administrator) is reported here after the
  // pool has already dropped it; the next query opens a new one, and a query in flight fails on its own.
  // Without a listener the report would be an uncaught exception ending the process.
  pool.on('error', () => undefined);
  const kdb = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyIndex(kdb, 'postgres', { clock: options.clock });
}
