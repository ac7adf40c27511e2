import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import type { App } from '../../src/app.js';
import { createApp, startDicom, tlsOptions } from '../../src/main.js';

function configuredTls(app: App) {
  return { ...tlsOptions(app.config)!, port: 0 };
}
import type { DimseServerOptions, DimseServers } from '../../src/servers/dimse/server.js';
import type { Clock } from '../../src/ports/clock.js';

export interface TestArchive {
  readonly app: App;
  readonly port: number;
  readonly tlsPort?: number;
  readonly dir: string;
  /** The DICOM listeners. */
  readonly server: DimseServers;
  close(): Promise<void>;
}

/** A whole archive in this process (SQLite in a temporary folder) with its DICOM port on a free port. */
export async function startTestArchive(
  overrides: {
    maxAssociations?: number;
    idleMs?: number;
    artimMs?: number;
    tls?: DimseServerOptions['tls'];
    /** Settings by path (`http.maxStowBytes`), as from the command line. */
    settings?: Record<string, unknown>;
    /** The clock the app reads (sessions, lockouts). */
    clock?: Clock;
    /** The operational logger (default: silent, or LANTERN_TEST_LOG's level). */
    log?: Logger;
  } = {},
): Promise<TestArchive> {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-archive-'));
  const app = await createApp(
    // HTTP authentication is off unless a test turns it on (the security tests do; the others test DICOMweb
    // as such, on loopback, where Lantern allows it off).
    loadConfig({ env: {}, flags: { 'security.authentication': false, ...overrides.settings, dataDir: dir } }),
    overrides.log ?? pino({ level: process.env.LANTERN_TEST_LOG ?? 'silent' }),
    { clock: overrides.clock },
  );
  const server = await startDicom(app, {
    host: '127.0.0.1',
    port: 0,
    maxAssociations: overrides.maxAssociations ?? 32,
    artimMs: overrides.artimMs ?? 5000,
    idleMs: overrides.idleMs ?? 60_000,
    // TLS as given, else as configured (on a free port).
    ...(overrides.tls ? { tls: overrides.tls } : app.config.dicom.tlsCert ? { tls: configuredTls(app) } : {}),
  });

  return {
    app,
    dir,
    server,
    port: server.address(0).port,
    tlsPort: overrides.tls || app.config.dicom.tlsCert ? server.address(1).port : undefined,
    close: async () => {
      await server.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
