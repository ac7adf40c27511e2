import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openSqliteIndex } from '../../src/adapters/index-sqlite/index.js';
import type { Clock } from '../../src/ports/clock.js';
import { accountStoreContract } from './account-store.contract.js';
import { aeStoreContract } from './ae-store.contract.js';
import { auditStoreContract } from './audit-store.contract.js';
import { archiveContract } from './archive.contract.js';
import { jobQueueContract } from './job-queue.contract.js';

/** A database of the suite's own for each contract; every open is another connection to it, migrated. */
function sqliteFile(prefix: string) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  return {
    open: async (clock?: Clock) => {
      const index = openSqliteIndex({ file: join(d, 'index.sqlite'), clock });
      await index.migrate();
      return index;
    },
    raw: async (sql: string) => {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(join(d, 'index.sqlite'));
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    cleanup: async () => rmSync(d, { recursive: true, force: true }),
  };
}

archiveContract('SQLite', sqliteFile('lantern-sqlite-'));
jobQueueContract('SQLite', sqliteFile('lantern-sqlite-jobs-'));
accountStoreContract('SQLite', sqliteFile('lantern-sqlite-accounts-'));
aeStoreContract('SQLite', sqliteFile('lantern-sqlite-aes-'));
auditStoreContract('SQLite', sqliteFile('lantern-sqlite-audit-'));

describe('SQLite shared by processes', () => {
  it('two processes writing at once: every unit of work lands, the audit trail stays one unbroken chain', async () => {
    // Each process stands for the server or a `lantern` command beside it: the compiled adapter, its own
    // connection, appends as fast as it can.
    const d = mkdtempSync(join(tmpdir(), 'lantern-sqlite-procs-'));
    const file = join(d, 'index.sqlite');
    const setup = openSqliteIndex({ file });
    await setup.migrate();
    await setup.close();
    const adapter = pathToFileURL(
      resolve(import.meta.dirname, '../../dist/adapters/index-sqlite/index.js'),
    ).href;
    const script = `
      const { openSqliteIndex } = await import(${JSON.stringify(adapter)});
      const index = openSqliteIndex({ file: process.argv[1] });
      const who = process.argv[2];
      for (let i = 0; i < 150; i++) {
        const event = who + ':' + i;
        // A unit of work of the index (what ingest runs), read then write, beside each record.
        await index.write(async (tx) => {
          await tx.counts();
          await tx.addQuarantine({ blobKey: event, reasonCode: 'T', reason: 'test', sopInstanceUid: event,
            studyUid: '', patientId: '', size: 0, sha256: '', receivedAt: new Date().toISOString(),
            sourceAet: who });
        });
        await index.audit.append(
          { at: new Date().toISOString(), eventId: '110112', action: 'E', outcome: 0, userId: who,
            patientIds: [], studyUids: [], event },
          (prev, id) => prev.slice(0, 8) + ':' + id + ':' + event,
        );
      }
      await index.close();
    `;
    const run = (who: string) =>
      new Promise<void>((ok, fail) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script, file, who], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        p.stderr.on('data', (b: Buffer) => (err += b.toString()));
        p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`${who} exited ${code}: ${err}`))));
      });
    try {
      await Promise.all([run('a'), run('b')]);
      const index = openSqliteIndex({ file });
      try {
        expect((await index.counts()).quarantined).toBe(300);
        const rows = await index.audit.scan(0, 1000);
        expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
        expect(rows.filter((r) => r.userId === 'a')).toHaveLength(150);
        for (let i = 1; i < rows.length; i++) {
          expect(rows[i].prevHash).toBe(rows[i - 1].hash);
          expect(rows[i].hash).toBe(`${rows[i - 1].hash.slice(0, 8)}:${rows[i].id}:${rows[i].event}`);
        }
      } finally {
        await index.close();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
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
