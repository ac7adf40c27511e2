import pg from 'pg';
import { openPostgresIndex } from '../../src/adapters/index-postgres/index.js';
import { createTestDatabase } from '../helpers/pg.js';
import { archiveContract } from './archive.contract.js';

let drop: (() => Promise<void>) | undefined;
let url = '';
archiveContract('PostgreSQL', {
  open: async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    url = db.url;
    return openPostgresIndex({ url: db.url });
  },
  cleanup: async () => drop?.(),
  raw: async (sql) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  },
});
