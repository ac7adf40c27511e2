import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { openPostgresIndex } from '../../src/adapters/index-postgres/index.js';
import type { Clock } from '../../src/ports/clock.js';
import { createTestDatabase } from '../helpers/pg.js';
import { accountStoreContract } from './account-store.contract.js';
import { aeStoreContract } from './ae-store.contract.js';
import { auditStoreContract } from './audit-store.contract.js';
import { archiveContract } from './archive.contract.js';
import { jobQueueContract } from './job-queue.contract.js';

/**
 * A database of the suite's own for each contract; every open is another connection pool to it (another
 * node), migrated.
 */
function pgDatabase() {
  let db: Promise<{ url: string; drop: () => Promise<void> }> | undefined;
  return {
    open: async (clock?: Clock) => {
      db ??= createTestDatabase();
      const index = openPostgresIndex({ url: (await db).url, clock });
      await index.migrate();
      return index;
    },
    raw: async (sql: string) => {
      const c = new pg.Client({ connectionString: (await db!).url });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
    cleanup: async () => (await db)?.drop(),
  };
}

archiveContract('PostgreSQL', pgDatabase());
jobQueueContract('PostgreSQL', pgDatabase());
accountStoreContract('PostgreSQL', pgDatabase());
aeStoreContract('PostgreSQL', pgDatabase());
auditStoreContract('PostgreSQL', pgDatabase());

describe('PostgreSQL connections', () => {
  it('outlive the server ending an idle connection (a restart, a failover)', async () => {
    const db = await createTestDatabase();
    const index = openPostgresIndex({ url: db.url, maxConnections: 2 });
    try {
      await index.migrate();
      await index.counts();
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      await admin.end();
      // The idle connection hears of it by itself; the pool must drop it, not raise an error no one handles.
      await new Promise((r) => setTimeout(r, 200));
      expect((await index.counts()).instances).toBe(0);
    } finally {
      await index.close();
      await db.drop();
    }
  });
});
