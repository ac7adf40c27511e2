import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteIndex } from '../../src/adapters/index-sqlite/index.js';
import { accountStoreContract } from './account-store.contract.js';
import { archiveContract } from './archive.contract.js';
import { jobQueueContract } from './job-queue.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'lantern-sqlite-'));
archiveContract('SQLite', {
  open: async () => openSqliteIndex({ file: join(dir, 'index.sqlite') }),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  raw: async (sql) => {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dir, 'index.sqlite'));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  },
});

const jobsDir = mkdtempSync(join(tmpdir(), 'lantern-sqlite-jobs-'));
jobQueueContract('SQLite', {
  open: async (clock) => {
    const index = openSqliteIndex({ file: join(jobsDir, 'index.sqlite'), clock });
    await index.migrate();
    return index;
  },
  cleanup: async () => rmSync(jobsDir, { recursive: true, force: true }),
});

const accountsDir = mkdtempSync(join(tmpdir(), 'lantern-sqlite-accounts-'));
accountStoreContract('SQLite', {
  open: async () => {
    const index = openSqliteIndex({ file: join(accountsDir, 'index.sqlite') });
    await index.migrate();
    return index;
  },
  cleanup: async () => rmSync(accountsDir, { recursive: true, force: true }),
});

describe('SQLite durability', () => {
  it('acknowledges a unit of work only after its log is synced', async () => {
    const { KyselyIndex } = await import('../../src/adapters/index-sql/kysely-index.js');
    const { Kysely, SqliteDialect } = await import('kysely');
    const Database = (await import('better-sqlite3')).default;
    let release: () => void = () => undefined;
    let synced = 0;
    const index = new KyselyIndex(
      new Kysely({ dialect: new SqliteDialect({ database: new Database(':memory:') }) }),
      'sqlite',
      {
        groupCommit: true,
        afterCommit: () =>
          new Promise<void>((r) => {
            release = () => {
              synced++;
              r();
            };
          }),
      },
    );
    await index.migrate();
    let acknowledged = false;
    const unit = index.write(async (tx) => tx.listInstances(0, 1)).then(() => (acknowledged = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(acknowledged).toBe(false);
    release();
    await unit;
    expect(acknowledged).toBe(true);
    expect(synced).toBe(1);
    await index.close();
  });
});
