import { openPostgresIndex } from '../../src/adapters/index-postgres/index.js';
import { createTestDatabase } from '../helpers/pg.js';
import { archiveContract } from './archive.contract.js';

let drop: (() => Promise<void>) | undefined;
archiveContract('PostgreSQL', {
  open: async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    return openPostgresIndex({ url: db.url });
  },
  cleanup: async () => drop?.(),
});
