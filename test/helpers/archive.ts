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
import { createTestIndex } from './test-index.js';

export interface TestArchive {
  readonly app: App;
  readonly port: number;
  readonly tlsPort?: number;
  /** The data folder (stored objects; the index too under SQLite). */
  readonly dir: string;
  /**
   * What a `lantern` command run on this archive (`--data dir`) needs in its environment besides the
   * process's own: the index's URL under PostgreSQL, nothing under SQLite.
   */
  readonly env: Readonly<Record<string, string>>;
  /** The DICOM listeners. */
  readonly server: DimseServers;
  close(): Promise<void>;
}

/**
 * A whole archive in this process, its data in a temporary folder and its DICOM port on a free port. The
 * index is SQLite in that folder, or under LANTERN_TEST_INDEX=postgres a fresh PostgreSQL database of its
 * own, dropped at `close()` (test/helpers/test-index.ts).
 */
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
  const index = await createTestIndex();
  const removeData = async () => {
    await index.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  let app: App;
  try {
    app = await createApp(
      // HTTP authentication is off unless a test turns it on (the security tests do; the others test
      // DICOMweb as such, on loopback, where Lantern allows it off).
      loadConfig({
        env: {},
        flags: {
          'security.authentication': false,
          // No role needs a second factor unless a test asks (test/interop/mfa.test.ts, the sign-in page).
          'security.mfaRoles': [],
          ...(index.url ? { 'index.url': index.url } : {}),
          ...overrides.settings,
          dataDir: dir,
        },
      }),
      overrides.log ?? pino({ level: process.env.LANTERN_TEST_LOG ?? 'silent' }),
      { clock: overrides.clock },
    );
  } catch (e) {
    await removeData();
    throw e;
  }
  let server: DimseServers;
  try {
    server = await startDicom(app, {
      host: '127.0.0.1',
      port: 0,
      maxAssociations: overrides.maxAssociations ?? 32,
      artimMs: overrides.artimMs ?? 5000,
      idleMs: overrides.idleMs ?? 60_000,
      // TLS as given, else as configured (on a free port).
      ...(overrides.tls
        ? { tls: overrides.tls }
        : app.config.dicom.tlsCert
          ? { tls: configuredTls(app) }
          : {}),
    });
  } catch (e) {
    await app.close();
    await removeData();
    throw e;
  }

  return {
    app,
    dir,
    env: index.env,
    server,
    port: server.address(0)?.port ?? 0,
    tlsPort: overrides.tls || app.config.dicom.tlsCert ? server.address(1).port : undefined,
    close: async () => {
      await server.close();
      await app.close();
      await removeData();
    },
  };
}
