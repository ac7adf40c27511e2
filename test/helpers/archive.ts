import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { type App, createApp } from '../../src/main.js';
import { type DimseServerOptions, startDimseServer } from '../../src/servers/dimse/server.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../../src/version.js';

export interface TestArchive {
  readonly app: App;
  readonly port: number;
  readonly tlsPort?: number;
  readonly dir: string;
  close(): Promise<void>;
}

/** A whole archive in this process (SQLite in a temporary folder) with its DICOM port on a free port. */
export async function startTestArchive(
  overrides: {
    maxAssociations?: number;
    idleMs?: number;
    artimMs?: number;
    tls?: DimseServerOptions['tls'];
  } = {},
): Promise<TestArchive> {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-archive-'));
  const app = await createApp(
    loadConfig({ env: {}, flags: { dataDir: dir } }),
    pino({ level: process.env.LANTERN_TEST_LOG ?? 'silent' }),
  );
  const server = await startDimseServer({
    host: '127.0.0.1',
    port: 0,
    aeTitle: 'LANTERN',
    maxAssociations: overrides.maxAssociations ?? 32,
    maxPduLength: 262144,
    artimMs: overrides.artimMs ?? 5000,
    idleMs: overrides.idleMs ?? 60_000,
    admitCaller: (aet, address) => app.aes.admit(aet, address),
    permitsStore: (aet) => app.aes.permits(aet, 'store'),
    permitsFind: (aet) => app.aes.permits(aet, 'find'),
    permitsMove: (aet) => app.aes.permits(aet, 'move'),
    permitsGet: (aet) => app.aes.permits(aet, 'get'),
    findAe: (aet) => app.aes.find(aet),
    retrieve: app.retrieve,
    index: app.index,
    query: app.query,
    ingest: app.ingest,
    log: app.log,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    tls: overrides.tls,
  });
  return {
    app,
    dir,
    port: server.address(0).port,
    tlsPort: overrides.tls ? server.address(1).port : undefined,
    close: async () => {
      await server.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
