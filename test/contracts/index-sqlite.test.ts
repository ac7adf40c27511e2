import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteIndex } from '../../src/adapters/index-sqlite/index.js';
import { archiveContract } from './archive.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'lantern-sqlite-'));
archiveContract('SQLite', {
  open: async () => openSqliteIndex({ file: join(dir, 'index.sqlite') }),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
