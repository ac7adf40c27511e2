import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { FsBlobStore } from './adapters/blob-fs/index.js';
import { openPostgresIndex } from './adapters/index-postgres/index.js';
import { openSqliteIndex } from './adapters/index-sqlite/index.js';
import type { IndexDatabase } from './ports/index-database.js';
import type { PasswordRules } from './core/security/password-policy.js';
import type { App } from './app.js';
import { type Config, storageRoot } from './config.js';
import { ConfigError } from './core/errors.js';
import { type DimseServerOptions, type DimseServers, startDimseServer } from './servers/dimse/server.js';
import { type Clock, systemClock } from './ports/clock.js';
import { AuthService } from './services/auth.js';
import { AuditService } from './services/audit.js';
import { ClinicalAudit } from './services/clinical-audit.js';
import { CommitmentService } from './services/commitment.js';
import { SendService } from './services/send.js';
import { StatusService } from './services/status.js';
import { viewerDir } from './adapters/viewer-install/ohif.js';
import { NetworkSender } from './adapters/dicom-net/sender.js';
import { SyslogExporter } from './adapters/audit-syslog/exporter.js';
import { FileCheckpointLog } from './adapters/audit-checkpoint/file.js';
import { SecurityAlerts } from './services/security-alerts.js';
import { AeRegistry } from './services/ae-registry.js';
import { IngestService } from './services/ingest.js';
import { QueryService } from './services/query.js';
import { RetrieveService } from './services/retrieve.js';
import { ImagePool } from './adapters/imaging/pool.js';
import { ImagingService } from './services/imaging.js';
import { TranscodeService } from './services/transcode.js';
import { DECODABLE, ENCODABLE } from './adapters/imaging/codecs.js';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { assertSafeBinding, buildHttpServer } from './servers/http/server.js';
import { VERIFY_PASS, VerifyService, verificationPass } from './services/verify.js';
import { JobRunner } from './services/job-runner.js';
import { PatientIdentification } from './services/patient-identification.js';
import { PatientChanges } from './services/patient-changes.js';

/** The job kind that removes replaced files whose retention has ended. */
const PURGE_VERSIONS = 'purge-versions';
import { FaultMonitor } from './services/faults.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './version.js';

export type { App };

/** The composition root: adapters, then services. No module reads configuration or opens files on import. */
export async function createApp(
  config: Config,
  log: Logger = createLogger(config),
  options: { clock?: Clock } = {},
): Promise<App> {
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true });
  const db: IndexDatabase = config.index.url
    ? openPostgresIndex({ url: config.index.url, clock })
    : openSqliteIndex({ file: join(config.dataDir, 'index.sqlite'), clock });
  try {
    await db.migrate();
  } catch (e) {
    await db.close();
    throw e;
  }
  const index = db.archive;
  const blobs = new FsBlobStore(storageRoot(config), { nodeId: config.node.id });
  await blobs.init();
  const audit = new AuditService(
    db.audit,
    clock,
    {
      sourceId: config.dicom.aeTitle,
      site: config.audit.site,
      failOpen: config.audit.failOpen,
      checkpointEvery: config.audit.checkpointEvery,
      checkpointMinutes: config.audit.checkpointMinutes,
    },
    (e) => log.error({ err: { message: e.message } }, 'audit record not written'),
    new FileCheckpointLog(
      config.audit.checkpointFile ?? join(config.dataDir, 'audit-checkpoints.jsonl'),
      config.audit.checkpointKey ?? join(config.dataDir, 'audit-signing.key'),
    ),
  );
  const alerts = new SecurityAlerts(audit, clock, { windowMs: config.audit.alertWindowSeconds * 1000 });
  const clinicalAudit = new ClinicalAudit(audit, index, {
    accessWindowMs: config.audit.accessWindowSeconds * 1000,
    alerts,
    clock,
  });
  const ingest = new IngestService({
    index,
    blobs,
    clock,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    audit: clinicalAudit,
    nodeId: config.node.id,
    pid: process.pid,
    alive: processAlive,
    onAuditFailure: (e, what) =>
      log.error({ err: { message: e.message }, what }, 'audit record not written; the next start writes it'),
  });
  // Before anything is served: rows whose files did not survive a crash go (docs/architecture.md).
  try {
    const recovered = await ingest.recover();
    if (recovered.removed.length) {
      log.warn(
        { checked: recovered.checked, removed: recovered.removed },
        'start-up recovery removed objects whose files did not survive a crash (never acknowledged)',
      );
    }
  } catch (e) {
    await blobs.close();
    await db.close();
    throw e;
  }
  const query = new QueryService(index, { maxResults: config.query.maxResults, audit: clinicalAudit });
  const verify = new VerifyService(index, blobs, {
    clock,
    audit: clinicalAudit,
    onDamaged: (o) =>
      log.error(
        { instance: o.id, blobKey: o.blobKey, detail: o.detail },
        'stored object damaged: not served until restored',
      ),
  });
  const identification = new PatientIdentification(index, clinicalAudit);
  const changes = new PatientChanges({
    index,
    blobs,
    clock,
    identification,
    audit: clinicalAudit,
    keepDays: config.storage.versionDays,
  });
  const pass = verificationPass(verify, db.jobs, clock, {
    days: config.storage.verifyDays,
    bytesPerSecond: config.storage.verifyMBps * 1e6,
  });
  const runner = new JobRunner(
    db.jobs,
    clock,
    {
      [VERIFY_PASS]: pass.handler,
      // Daily: replaced files whose retention has ended go.
      [PURGE_VERSIONS]: async () => {
        await changes.purgeVersions();
        return { again: { payload: {}, runAt: new Date(clock.now().getTime() + 86_400_000) } };
      },
    },
    {
      onError: (job, e) =>
        log.warn(
          { job: job.id, kind: job.kind, err: { message: e.message } },
          'background job failed; retried later',
        ),
    },
  );
  const jobs = {
    start: () => runner.start(),
    stop: () => runner.stop(),
    schedule: async () => {
      await pass.schedule();
      await db.jobs.enqueue({
        kind: PURGE_VERSIONS,
        payload: {},
        dedupeKey: PURGE_VERSIONS,
        maxAttempts: 10,
      });
    },
  };
  const retrieve = new RetrieveService(index, blobs, query, clinicalAudit);
  const commitment = new CommitmentService(index, retrieve, clinicalAudit);
  const send = new SendService(
    new NetworkSender({
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      responseTimeoutMs: config.dicom.idleSeconds * 1000,
      maxPduLength: config.dicom.maxPduLength,
    }),
    retrieve,
  );
  const imaging = new ImagingService(blobs, new ImagePool(config.http.imageWorkers));
  const transcode = new TranscodeService(
    blobs,
    imaging,
    { decodable: DECODABLE, encodable: ENCODABLE },
    { classUid: IMPLEMENTATION_CLASS_UID, versionName: IMPLEMENTATION_VERSION_NAME },
  );
  const auth = new AuthService(db.accounts, clock, config.security, await passwordRules(), audit);
  const s = config.audit.syslog;
  const read = (path: string | undefined) => (path ? readFileSync(path) : undefined);
  const auditExport = s.host
    ? new SyslogExporter(db.audit, {
        host: s.host,
        port: s.port,
        ca: read(s.ca),
        cert: read(s.cert),
        key: read(s.key),
        cursorFile: join(config.dataDir, 'audit-syslog.cursor'),
        log,
      })
    : undefined;
  if (auditExport) {
    audit.onRecorded = () => auditExport.notify();
    audit.onCheckpoint = (c) => auditExport.checkpointed(c);
  }
  const aes = new AeRegistry(
    db.aes,
    clock,
    { acceptUnknownCallers: config.dicom.acceptUnknownCallers },
    audit,
    clinicalAudit,
  );
  for (const ae of config.dicom.aes) {
    // Peers from the configuration file are registered at every start; that is not a change to record.
    await aes.add(
      {
        aeTitle: ae.aeTitle,
        host: ae.host,
        port: ae.port,
        tls: ae.tls,
        permissions: ae.allow,
        mode: ae.mode,
        certSha256: ae.certSha256,
      },
      null,
    );
  }
  const faults = new FaultMonitor((e, where) =>
    log.error({ err: { message: e.message, stack: e.stack }, where }, 'unexpected error'),
  );
  return {
    faults,
    config,
    log,
    index,
    blobs,
    ingest,
    query,
    verify,
    identification,
    changes,
    aes,
    retrieve,
    commitment,
    send,
    status: new StatusService(index, blobs, {
      clock,
      stableSeconds: config.storage.studyStableSeconds,
      audit: clinicalAudit,
    }),
    viewers: installedViewers(config.dataDir),
    imaging,
    transcode,
    auth,
    audit,
    alerts,
    auditExport,
    clock,
    jobs,
    close: async () => {
      await runner.stop();
      // What this process recorded since its last checkpoint (a command's records) is checkpointed too.
      await audit
        .checkpointIfWritten()
        .catch((e: unknown) =>
          log.error({ err: { message: (e as Error).message } }, 'audit checkpoint failed'),
        );
      await auditExport?.stop();
      await imaging.close();
      await ingest.close();
      await blobs.close();
      await db.close();
    },
  };
}

/** A process of this machine is running (one of another user counts). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The viewers installed in the data folder, by the folder each is served from. */
function installedViewers(dataDir: string): { ohif?: string } {
  const ohif = viewerDir(dataDir, 'ohif');
  return existsSync(join(ohif, 'index.html')) ? { ohif } : {};
}

/**
 * What new passwords are checked against: zxcvbn-ts's common passwords (lower case) and its strength
 * estimate over its common and English dictionaries (loaded once, when the app is made).
 */
async function passwordRules(): Promise<PasswordRules> {
  const [{ ZxcvbnFactory }, common, en] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ]);
  const list = (common.dictionary as Record<string, string[]>)['passwords-common'] ?? [];
  const zxcvbn = new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
    // Bounded work per check (measured: patterned input of 200 characters took up to 2.4 s of CPU with the
    // defaults, at most about 50 ms with these): the first 64 characters are judged, with a few l33t
    // substitutions tried.
    maxLength: 64,
    l33tMaxSubstitutions: 8,
  });
  return {
    common: new Set(list.map((p) => p.toLowerCase())),
    strength: (password, inputs) => {
      const r = zxcvbn.check(password, [...inputs]);
      return { score: r.score, warning: r.feedback.warning };
    },
  };
}

/**
 * The process-level guard of `serve`: a promise rejected with no one listening is a bug somewhere in one
 * connection's code; it is logged and counted (app.faults, /healthz), and the server goes on serving every
 * other connection. An uncaught exception is logged before Node ends the process as usual.
 */
export function guardProcess(app: App): void {
  process.on('unhandledRejection', (reason) => app.faults.record(reason, 'unhandled rejection'));
  process.on('uncaughtExceptionMonitor', (e, origin) =>
    app.log.fatal({ err: { message: e.message, stack: e.stack }, origin }, 'uncaught exception'),
  );
}

/** Operational log: JSON lines on stderr. Never patient data: names, IDs and datasets go to the audit log only. */
export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: { svc: 'lantern' } }, pino.destination(2));
}

/**
 * Starts the DICOM listeners for an app: settings from its configuration, services from the app, the AE
 * registry deciding who may do what. `overrides` replace single settings (tests use free ports).
 */
export function startDicom(app: App, overrides: Partial<DimseServerOptions> = {}): Promise<DimseServers> {
  const c = app.config.dicom;
  return startDimseServer({
    host: c.host,
    port: c.port,
    aeTitle: c.aeTitle,
    maxAssociations: c.maxAssociations,
    maxPending: c.maxPendingAssociations,
    maxPendingPerAddress: c.maxPendingPerAddress,
    maxPduLength: c.maxPduLength,
    artimMs: c.artimSeconds * 1000,
    idleMs: c.idleSeconds * 1000,
    admitCaller: (aet, address, peer) => app.aes.admit(aet, address, peer),
    verifyUser: (login, passcode, address) => app.auth.verifyPeerUser(login, passcode, address),
    recordAdmission: (peer, accepted, reason) => app.aes.recordAdmission(peer, accepted, reason),
    requireUserIdentity: c.requireUserIdentity,
    plain: c.plainPort,
    permitsStore: (aet) => app.aes.permits(aet, 'store'),
    permitsFind: (aet, withUser) => app.aes.permits(aet, 'find', withUser),
    permitsMove: (aet, withUser) => app.aes.permits(aet, 'move', withUser),
    permitsGet: (aet, withUser) => app.aes.permits(aet, 'get', withUser),
    findAe: (aet) => app.aes.find(aet),
    retrieve: app.retrieve,
    commitment: app.commitment,
    send: app.send,
    query: app.query,
    ingest: app.ingest,
    log: app.log,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    tls: tlsOptions(app.config),
    onFault: (e, where) => app.faults.record(e, `DICOM association: ${where}`),
    ...overrides,
  });
}

/** DICOM TLS settings read from the configured files, when a certificate and key are configured. */
/** DICOM TLS settings from the configuration (certificate files read), or undefined without them. */
export function tlsOptions(c: Config): DimseServerOptions['tls'] {
  if (!c.dicom.tlsCert || !c.dicom.tlsKey) return undefined;
  const read = (path: string, name: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`${name}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  return {
    port: c.dicom.tlsPort,
    cert: read(c.dicom.tlsCert, 'dicom.tlsCert'),
    key: read(c.dicom.tlsKey, 'dicom.tlsKey'),
    ca: c.dicom.tlsCa ? read(c.dicom.tlsCa, 'dicom.tlsCa') : undefined,
    requireClientCert: c.dicom.tlsRequireClientCert,
  };
}

/** The listening servers of one process, and how to stop them. */
export interface RunningServers {
  readonly http: FastifyInstance;
  readonly dimse: DimseServers;
  /** Stops both listeners, records the stop in the audit trail, closes the app. */
  stop(): Promise<void>;
}

/**
 * Starts HTTP and DICOM for an app (its configuration's ports, or `overrides`), records the start in the
 * audit trail and starts the audit export. Refuses an HTTP address beyond loopback without authentication.
 */
export async function startServers(
  app: App,
  overrides: { dicom?: Partial<DimseServerOptions>; httpPort?: number } = {},
): Promise<RunningServers> {
  const config = app.config;
  assertSafeBinding(app, config.http.host);
  const http = await buildHttpServer(app);
  await http.listen({ port: overrides.httpPort ?? config.http.port, host: config.http.host });
  let dimse: DimseServers;
  try {
    await app.audit.resume();
    await app.audit.applicationActivity('start', process.env.USER ?? 'lantern');
    await app.audit.recording('started');
    app.auditExport?.start();
    // Operations on patients' records a crash stopped are carried out before anything is served.
    await app.changes.resume((id, e) =>
      app.log.error(
        { change: id, err: { message: e.message } },
        'an interrupted operation on patient records failed',
      ),
    );
    await app.jobs.schedule();
    app.jobs.start();
    dimse = await startDicom(app, overrides.dicom);
  } catch (e) {
    await http.close();
    throw e;
  }
  const httpAddr = http.server.address() as AddressInfo | null;
  app.log.info(
    {
      aeTitle: config.dicom.aeTitle,
      dicomPort: dimse.address(0)?.port,
      dicomTlsPort: dimse.address(1)?.port,
      httpPort: httpAddr?.port ?? config.http.port,
      index: app.index.dialect,
      dataDir: config.dataDir,
    },
    'lantern started',
  );
  // A checkpoint every checkpointMinutes when records came (record() checks too, but only as records come).
  const checkpoints = setInterval(() => {
    app.audit
      .checkpointIfMoved()
      .catch((e: unknown) =>
        app.log.error({ err: { message: (e as Error).message } }, 'audit checkpoint failed'),
      );
  }, app.audit.checkpointMinutes * 60_000);
  checkpoints.unref();
  let stopped: Promise<void> | undefined;
  return {
    http,
    dimse,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(checkpoints);
        // The listeners first: the records of the transfers that end with them come before the stop's.
        await dimse.close();
        await http.close();
        await app.audit.recording('stopped').catch(() => undefined);
        await app.audit.applicationActivity('stop', process.env.USER ?? 'lantern').catch(() => undefined);
        await app.audit.checkpoint().catch(() => undefined);
        await app.close();
      })()),
  };
}

/**
 * `lantern serve`: builds the app, creates the first administrator on a first start (its one-time password
 * goes to `showFirstPassword`, never to the log), starts the servers, and stops cleanly on SIGTERM or SIGINT.
 */
export async function serve(config: Config, showFirstPassword: (password: string) => void): Promise<void> {
  const app = await createApp(config);
  guardProcess(app);
  let running: RunningServers;
  try {
    assertSafeBinding(app, config.http.host);
    const first = await app.auth.bootstrap();
    if (first) showFirstPassword(first);
    running = await startServers(app);
  } catch (e) {
    await app.close();
    throw e;
  }
  const stop = async (signal: string) => {
    app.log.info({ signal }, 'lantern stopping');
    await running.stop();
    app.log.info('lantern stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
