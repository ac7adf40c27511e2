import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server the test command found or started (scripts/test.mjs sets LANTERN_TEST_PG_URL). */
export function pgAdminUrl(): string {
  return process.env.LANTERN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** Creates a database of its own for one test file; `drop` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `lantern_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgAdminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
