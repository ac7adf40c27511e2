import { availableParallelism, hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './core/errors.js';

/** Every setting, with its default. docs/configuration.md describes each one. */
export interface Config {
  /** Folder for the index (SQLite) and the stored objects. */
  readonly dataDir: string;
  readonly dicom: {
    readonly aeTitle: string;
    readonly port: number;
    readonly host: string;
    readonly acceptUnknownCallers: boolean;
    readonly maxAssociations: number;
    /** Connections not yet associated, in all and from one address (the oldest goes when full). */
    readonly maxPendingAssociations: number;
    readonly maxPendingPerAddress: number;
    readonly maxPduLength: number;
    /** The deadline for a whole A-ASSOCIATE-RQ after connecting, and for the peer to close after a reject. */
    readonly artimSeconds: number;
    readonly idleSeconds: number;
    /** DICOM TLS: on when a certificate and key are given. */
    readonly tlsPort: number;
    readonly tlsCert: string | undefined;
    readonly tlsKey: string | undefined;
    readonly tlsCa: string | undefined;
    readonly tlsRequireClientCert: boolean;
    /** Associations must carry a username/passcode user identity of an account (PS3.7 D.3.3.7). */
    readonly requireUserIdentity: boolean;
    /** Peers registered from the configuration file (added to the AE registry at every start). */
    readonly aes: readonly ConfiguredAe[];
  };
  readonly http: {
    readonly port: number;
    readonly host: string;
    /** The URL clients reach this server at (behind a proxy); RetrieveURLs are built from it. */
    readonly publicUrl: string | undefined;
    /** The largest STOW-RS request body accepted. */
    readonly maxStowBytes: number;
    /** HTTPS: certificate chain and private key (PEM); unset, DICOM TLS's are used when set. */
    readonly tlsCert: string | undefined;
    readonly tlsKey: string | undefined;
    /** Origins allowed cross-origin requests (CORS); `*` for any; empty: no CORS headers. */
    readonly corsOrigins: readonly string[];
    /** A STOW-RS body that sends nothing for this long is answered 408 and closed. */
    readonly bodyIdleSeconds: number;
    /** Every other request must arrive whole (headers and body) within this. */
    readonly requestTimeoutSeconds: number;
    /** A connection with no traffic either way for this long is closed. */
    readonly idleSeconds: number;
    /** Connections from one address at once (0: no limit; raise it behind a reverse proxy). */
    readonly maxConnectionsPerAddress: number;
    /** Worker threads decoding and rendering images; 0 runs them on the main thread. */
    readonly imageWorkers: number;
  };
  readonly index: { readonly url: string | undefined };
  readonly storage: { readonly path: string | undefined };
  readonly query: { readonly maxResults: number };
  readonly security: {
    /** Every HTTP request but /healthz and login must prove who it is. Off only on loopback. */
    readonly authentication: boolean;
    readonly sessionIdleMinutes: number;
    readonly sessionMaxHours: number;
    /** Failed logins for one login name within lockoutMinutes before it is locked for lockoutMinutes. */
    readonly lockoutThreshold: number;
    readonly lockoutMinutes: number;
    /** Failed logins from one address within lockoutMinutes before it is throttled. */
    readonly addressThreshold: number;
    /** Bearer JWTs from an OpenID Connect provider, accepted when an issuer is set. */
    readonly oidc: {
      readonly issuer: string | undefined;
      readonly audience: string | undefined;
      /** The provider's key set; default: jwks_uri of its discovery document. */
      readonly jwksUrl: string | undefined;
      /** The claim holding Lantern role names (a dotted path, e.g. realm_access.roles). */
      readonly rolesClaim: string;
      /** The claim naming the user. */
      readonly loginClaim: string;
    };
  };
  readonly audit: {
    /** The site in audit user IDs (`login@site`) and the audit source; default: the host name. */
    readonly site: string;
    /** Emergency only: operations go on when their audit record cannot be written. */
    readonly failOpen: boolean;
    /** Signed checkpoints of the chain head (JSON lines), best kept on another volume than the index. */
    readonly checkpointFile: string | undefined;
    /** The Ed25519 key that signs them (made on first use). */
    readonly checkpointKey: string | undefined;
    /** An audit record repository to send the trail to (RFC 5424 syslog over TLS, RFC 5425). */
    readonly syslog: {
      readonly host: string | undefined;
      readonly port: number;
      /** CA certificate(s) of the repository (PEM); unset: the system's trusted CAs. */
      readonly ca: string | undefined;
      readonly cert: string | undefined;
      readonly key: string | undefined;
    };
  };
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

export interface ConfiguredAe {
  readonly aeTitle: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Unset: the registry's default (store, find, get, move, and destination when a port is given). */
  readonly allow: readonly string[] | undefined;
}

export const DEFAULTS: Config = {
  dataDir: './data',
  dicom: {
    aeTitle: 'LANTERN',
    port: 11112,
    host: '0.0.0.0',
    acceptUnknownCallers: false,
    maxAssociations: 32,
    maxPendingAssociations: 64,
    maxPendingPerAddress: 8,
    maxPduLength: 262144,
    artimSeconds: 5,
    idleSeconds: 300,
    tlsPort: 2762,
    tlsCert: undefined,
    tlsKey: undefined,
    tlsCa: undefined,
    tlsRequireClientCert: false,
    requireUserIdentity: false,
    aes: [],
  },
  http: {
    port: 8080,
    host: '127.0.0.1',
    tlsCert: undefined,
    tlsKey: undefined,
    publicUrl: undefined,
    maxStowBytes: 4 * 1024 * 1024 * 1024,
    corsOrigins: [],
    bodyIdleSeconds: 30,
    requestTimeoutSeconds: 30,
    idleSeconds: 300,
    maxConnectionsPerAddress: 64,
    imageWorkers: Math.max(1, Math.min(4, availableParallelism())),
  },
  index: { url: undefined },
  storage: { path: undefined },
  query: { maxResults: 1000 },
  security: {
    authentication: true,
    sessionIdleMinutes: 15,
    sessionMaxHours: 12,
    lockoutThreshold: 5,
    lockoutMinutes: 15,
    addressThreshold: 20,
    oidc: {
      issuer: undefined,
      audience: undefined,
      jwksUrl: undefined,
      rolesClaim: 'roles',
      loginClaim: 'preferred_username',
    },
  },
  audit: {
    site: hostname(),
    failOpen: false,
    checkpointFile: undefined,
    checkpointKey: undefined,
    syslog: { host: undefined, port: 6514, ca: undefined, cert: undefined, key: undefined },
  },
  log: { level: 'info' },
};

/** Environment variables and the setting each overrides. */
export const ENVIRONMENT: Record<string, string> = {
  LANTERN_DATA: 'dataDir',
  LANTERN_AET: 'dicom.aeTitle',
  LANTERN_DICOM_PORT: 'dicom.port',
  LANTERN_DICOM_HOST: 'dicom.host',
  LANTERN_DICOM_ACCEPT_UNKNOWN: 'dicom.acceptUnknownCallers',
  LANTERN_DICOM_MAX_ASSOCIATIONS: 'dicom.maxAssociations',
  LANTERN_DICOM_MAX_PENDING: 'dicom.maxPendingAssociations',
  LANTERN_DICOM_MAX_PENDING_PER_ADDRESS: 'dicom.maxPendingPerAddress',
  LANTERN_DICOM_MAX_PDU: 'dicom.maxPduLength',
  LANTERN_DICOM_ARTIM_SECONDS: 'dicom.artimSeconds',
  LANTERN_DICOM_IDLE_SECONDS: 'dicom.idleSeconds',
  LANTERN_DICOM_TLS_PORT: 'dicom.tlsPort',
  LANTERN_DICOM_REQUIRE_USER_IDENTITY: 'dicom.requireUserIdentity',
  LANTERN_DICOM_TLS_CERT: 'dicom.tlsCert',
  LANTERN_DICOM_TLS_KEY: 'dicom.tlsKey',
  LANTERN_DICOM_TLS_CA: 'dicom.tlsCa',
  LANTERN_DICOM_TLS_REQUIRE_CLIENT_CERT: 'dicom.tlsRequireClientCert',
  LANTERN_HTTP_PORT: 'http.port',
  LANTERN_HTTP_HOST: 'http.host',
  LANTERN_HTTP_TLS_CERT: 'http.tlsCert',
  LANTERN_HTTP_TLS_KEY: 'http.tlsKey',
  LANTERN_HTTP_PUBLIC_URL: 'http.publicUrl',
  LANTERN_HTTP_MAX_STOW_BYTES: 'http.maxStowBytes',
  LANTERN_HTTP_CORS_ORIGINS: 'http.corsOrigins',
  LANTERN_HTTP_BODY_IDLE_SECONDS: 'http.bodyIdleSeconds',
  LANTERN_HTTP_REQUEST_TIMEOUT_SECONDS: 'http.requestTimeoutSeconds',
  LANTERN_HTTP_IDLE_SECONDS: 'http.idleSeconds',
  LANTERN_HTTP_MAX_CONNECTIONS_PER_ADDRESS: 'http.maxConnectionsPerAddress',
  LANTERN_HTTP_IMAGE_WORKERS: 'http.imageWorkers',
  LANTERN_INDEX_URL: 'index.url',
  LANTERN_STORAGE_PATH: 'storage.path',
  LANTERN_QUERY_MAX_RESULTS: 'query.maxResults',
  LANTERN_LOG_LEVEL: 'log.level',
  LANTERN_AUTHENTICATION: 'security.authentication',
  LANTERN_AUDIT_SITE: 'audit.site',
  LANTERN_AUDIT_FAIL_OPEN: 'audit.failOpen',
  LANTERN_AUDIT_SYSLOG_HOST: 'audit.syslog.host',
  LANTERN_AUDIT_SYSLOG_PORT: 'audit.syslog.port',
  LANTERN_AUDIT_SYSLOG_CA: 'audit.syslog.ca',
  LANTERN_SESSION_IDLE_MINUTES: 'security.sessionIdleMinutes',
  LANTERN_SESSION_MAX_HOURS: 'security.sessionMaxHours',
  LANTERN_OIDC_ISSUER: 'security.oidc.issuer',
  LANTERN_OIDC_AUDIENCE: 'security.oidc.audience',
  LANTERN_OIDC_JWKS_URL: 'security.oidc.jwksUrl',
  LANTERN_OIDC_ROLES_CLAIM: 'security.oidc.rolesClaim',
};

type Source = string; // where a value came from, for error messages
type Raw = Record<string, unknown>;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function setPath(obj: Raw, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Raw;
  }
  o[parts[parts.length - 1]] = value;
}

function getPath(obj: Raw, path: string): unknown {
  let o: unknown = obj;
  for (const p of path.split('.')) {
    if (typeof o !== 'object' || o === null) return undefined;
    o = (o as Raw)[p];
  }
  return o;
}

function port(v: unknown, name: string, from: Source): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${name} must be a port number 0-65535, got ${JSON.stringify(v)} (from ${from})`);
  }
  return n;
}

function positiveInt(v: unknown, name: string, from: Source): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(v)} (from ${from})`);
  }
  return n;
}

function bool(v: unknown, name: string, from: Source): boolean {
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(v)} (from ${from})`);
}

function configuredAes(v: unknown, from: Source): ConfiguredAe[] {
  if (!Array.isArray(v)) throw new ConfigError(`dicom.aes must be a list of AEs (from ${from})`);
  return v.map((e: unknown, i) => {
    const o = e as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.aeTitle !== 'string') {
      throw new ConfigError(`dicom.aes[${i}] must be an object with an aeTitle (from ${from})`);
    }
    const allow = o.allow;
    if (allow !== undefined && (!Array.isArray(allow) || !allow.every((a) => typeof a === 'string'))) {
      throw new ConfigError(`dicom.aes[${i}].allow must be a list of permissions (from ${from})`);
    }
    return {
      aeTitle: checkAeTitle(o.aeTitle, from),
      host: o.host === undefined ? '' : str(o.host, `dicom.aes[${i}].host`, from),
      port: o.port === undefined ? 0 : port(o.port, `dicom.aes[${i}].port`, from),
      tls: o.tls === undefined ? false : bool(o.tls, `dicom.aes[${i}].tls`, from),
      allow: allow as string[] | undefined,
    };
  });
}

function optionalPath(v: unknown, name: string, from: Source): string | undefined {
  if (v === undefined) return undefined;
  return resolve(str(v, name, from));
}

function str(v: unknown, name: string, from: Source): string {
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(`${name} must be a non-empty string (from ${from})`);
  return v;
}

/** AE titles: 1-16 characters of the default repertoire, no backslash or control characters (PS3.5 6.2). */
export function checkAeTitle(v: unknown, from: Source): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > 16 || !/^[\x20-\x5b\x5d-\x7e]+$/.test(v)) {
    throw new ConfigError(
      `dicom.aeTitle must be 1-16 printable ASCII characters without backslash, got ${JSON.stringify(v)} (from ${from})`,
    );
  }
  return v.trim();
}

export interface LoadOptions {
  /** A JSON configuration file. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, by setting path (highest precedence). */
  readonly flags?: Record<string, unknown>;
}

/** Defaults, then the file, then LANTERN_* variables, then flags; validated with messages naming the source. */
export function loadConfig(options: LoadOptions = {}): Config {
  const raw: Raw = {};
  const sources = new Map<string, Source>();
  // Every setting the defaults name (lists such as dicom.aes are leaves), whatever else can give it.
  const known = new Set(settingPaths());
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read configuration file ${options.file}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`configuration file ${options.file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`configuration file ${options.file} must hold a JSON object`);
    }
    const walk = (o: Raw, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Raw, path);
        else {
          if (!known.has(path)) throw new ConfigError(`unknown setting "${path}" in ${options.file}`);
          setPath(raw, path, v);
          sources.set(path, options.file!);
        }
      }
    };
    walk(parsed as Raw, '');
  }
  const env = options.env ?? process.env;
  for (const [name, path] of Object.entries(ENVIRONMENT)) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      setPath(raw, path, v);
      sources.set(path, name);
    }
  }
  for (const [path, v] of Object.entries(options.flags ?? {})) {
    if (v === undefined) continue;
    setPath(raw, path, v);
    sources.set(path, 'command line');
  }
  const from = (path: string) => sources.get(path) ?? 'defaults';
  const get = (path: string) => getPath(raw, path) ?? getPath(DEFAULTS as unknown as Raw, path);

  const logLevel = get('log.level');
  if (typeof logLevel !== 'string' || !LEVELS.includes(logLevel)) {
    throw new ConfigError(
      `log.level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(logLevel)} (from ${from('log.level')})`,
    );
  }
  const indexUrl = get('index.url');
  if (indexUrl !== undefined && (typeof indexUrl !== 'string' || !/^postgres(ql)?:\/\//.test(indexUrl))) {
    throw new ConfigError(
      `index.url must be a postgres:// URL, or unset for the embedded SQLite index (from ${from('index.url')})`,
    );
  }
  const storagePath = get('storage.path');
  if ((get('dicom.tlsCert') === undefined) !== (get('dicom.tlsKey') === undefined)) {
    throw new ConfigError(
      'dicom.tlsCert and dicom.tlsKey go together: give both to enable DICOM TLS, or neither',
    );
  }
  return {
    dataDir: resolve(str(get('dataDir'), 'dataDir', from('dataDir'))),
    dicom: {
      aeTitle: checkAeTitle(get('dicom.aeTitle'), from('dicom.aeTitle')),
      port: port(get('dicom.port'), 'dicom.port', from('dicom.port')),
      host: str(get('dicom.host'), 'dicom.host', from('dicom.host')),
      acceptUnknownCallers: bool(
        get('dicom.acceptUnknownCallers'),
        'dicom.acceptUnknownCallers',
        from('dicom.acceptUnknownCallers'),
      ),
      maxAssociations: positiveInt(
        get('dicom.maxAssociations'),
        'dicom.maxAssociations',
        from('dicom.maxAssociations'),
      ),
      maxPendingAssociations: positiveInt(
        get('dicom.maxPendingAssociations'),
        'dicom.maxPendingAssociations',
        from('dicom.maxPendingAssociations'),
      ),
      maxPendingPerAddress: positiveInt(
        get('dicom.maxPendingPerAddress'),
        'dicom.maxPendingPerAddress',
        from('dicom.maxPendingPerAddress'),
      ),
      maxPduLength: (() => {
        const n = positiveInt(get('dicom.maxPduLength'), 'dicom.maxPduLength', from('dicom.maxPduLength'));
        if (n < 4096 || n > 16 * 1024 * 1024) {
          throw new ConfigError(
            `dicom.maxPduLength must be 4096-16777216, got ${n} (from ${from('dicom.maxPduLength')})`,
          );
        }
        return n;
      })(),
      artimSeconds: positiveInt(get('dicom.artimSeconds'), 'dicom.artimSeconds', from('dicom.artimSeconds')),
      idleSeconds: positiveInt(get('dicom.idleSeconds'), 'dicom.idleSeconds', from('dicom.idleSeconds')),
      tlsPort: port(get('dicom.tlsPort'), 'dicom.tlsPort', from('dicom.tlsPort')),
      // One certificate serves both: DICOM TLS takes HTTP's when it has none of its own.
      tlsCert: optionalPath(
        get('dicom.tlsCert') ?? get('http.tlsCert'),
        'dicom.tlsCert',
        from('dicom.tlsCert'),
      ),
      tlsKey: optionalPath(get('dicom.tlsKey') ?? get('http.tlsKey'), 'dicom.tlsKey', from('dicom.tlsKey')),
      tlsCa: optionalPath(get('dicom.tlsCa'), 'dicom.tlsCa', from('dicom.tlsCa')),
      aes: configuredAes(get('dicom.aes'), from('dicom.aes')),
      requireUserIdentity: bool(
        get('dicom.requireUserIdentity'),
        'dicom.requireUserIdentity',
        from('dicom.requireUserIdentity'),
      ),
      tlsRequireClientCert: bool(
        get('dicom.tlsRequireClientCert'),
        'dicom.tlsRequireClientCert',
        from('dicom.tlsRequireClientCert'),
      ),
    },
    http: {
      port: port(get('http.port'), 'http.port', from('http.port')),
      // Loopback until TLS is configured; a site may bind elsewhere explicitly.
      host:
        from('http.host') === 'defaults' && (get('http.tlsCert') ?? get('dicom.tlsCert'))
          ? '0.0.0.0'
          : str(get('http.host'), 'http.host', from('http.host')),
      tlsCert: optionalPath(
        get('http.tlsCert') ?? get('dicom.tlsCert'),
        'http.tlsCert',
        from('http.tlsCert'),
      ),
      tlsKey: optionalPath(get('http.tlsKey') ?? get('dicom.tlsKey'), 'http.tlsKey', from('http.tlsKey')),
      publicUrl: (() => {
        const v = get('http.publicUrl');
        if (v === undefined) return undefined;
        if (typeof v !== 'string' || !/^https?:\/\/[^\s]+$/.test(v))
          throw new ConfigError(`http.publicUrl must be an http(s) URL (from ${from('http.publicUrl')})`);
        return v;
      })(),
      maxStowBytes: positiveInt(get('http.maxStowBytes'), 'http.maxStowBytes', from('http.maxStowBytes')),
      corsOrigins: (() => {
        const v = get('http.corsOrigins');
        const list =
          typeof v === 'string'
            ? v
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : v;
        if (
          !Array.isArray(list) ||
          !list.every((o) => typeof o === 'string' && (o === '*' || /^https?:\/\/[^\s/]+$/.test(o)))
        ) {
          throw new ConfigError(
            `http.corsOrigins must list origins like https://viewer.example.org, or *  (from ${from('http.corsOrigins')})`,
          );
        }
        return list as string[];
      })(),
      bodyIdleSeconds: positiveInt(
        get('http.bodyIdleSeconds'),
        'http.bodyIdleSeconds',
        from('http.bodyIdleSeconds'),
      ),
      requestTimeoutSeconds: positiveInt(
        get('http.requestTimeoutSeconds'),
        'http.requestTimeoutSeconds',
        from('http.requestTimeoutSeconds'),
      ),
      idleSeconds: positiveInt(get('http.idleSeconds'), 'http.idleSeconds', from('http.idleSeconds')),
      maxConnectionsPerAddress: (() => {
        const v = get('http.maxConnectionsPerAddress');
        const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
          throw new ConfigError(
            `http.maxConnectionsPerAddress must be 0 (no limit) or more, got ${JSON.stringify(v)} (from ${from('http.maxConnectionsPerAddress')})`,
          );
        }
        return n;
      })(),
      imageWorkers: (() => {
        const v = get('http.imageWorkers');
        const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 64) {
          throw new ConfigError(
            `http.imageWorkers must be 0-64, got ${JSON.stringify(v)} (from ${from('http.imageWorkers')})`,
          );
        }
        return n;
      })(),
    },
    index: { url: indexUrl as string | undefined },
    storage: {
      path: storagePath === undefined ? undefined : str(storagePath, 'storage.path', from('storage.path')),
    },
    query: { maxResults: positiveInt(get('query.maxResults'), 'query.maxResults', from('query.maxResults')) },
    security: {
      authentication: bool(
        get('security.authentication'),
        'security.authentication',
        from('security.authentication'),
      ),
      sessionIdleMinutes: positiveInt(
        get('security.sessionIdleMinutes'),
        'security.sessionIdleMinutes',
        from('security.sessionIdleMinutes'),
      ),
      sessionMaxHours: positiveInt(
        get('security.sessionMaxHours'),
        'security.sessionMaxHours',
        from('security.sessionMaxHours'),
      ),
      lockoutThreshold: positiveInt(
        get('security.lockoutThreshold'),
        'security.lockoutThreshold',
        from('security.lockoutThreshold'),
      ),
      lockoutMinutes: positiveInt(
        get('security.lockoutMinutes'),
        'security.lockoutMinutes',
        from('security.lockoutMinutes'),
      ),
      addressThreshold: positiveInt(
        get('security.addressThreshold'),
        'security.addressThreshold',
        from('security.addressThreshold'),
      ),
      oidc: (() => {
        const url = (name: string) => {
          const v = get(name);
          if (v === undefined) return undefined;
          if (typeof v !== 'string' || !/^https?:\/\/\S+$/.test(v)) {
            throw new ConfigError(`${name} must be an http(s) URL (from ${from(name)})`);
          }
          return v;
        };
        const issuer = url('security.oidc.issuer');
        const audience = get('security.oidc.audience');
        if (issuer && (typeof audience !== 'string' || !audience)) {
          throw new ConfigError(
            `security.oidc.audience must name this server's client ID when an issuer is set (from ${from('security.oidc.audience')})`,
          );
        }
        return {
          issuer,
          audience: typeof audience === 'string' ? audience : undefined,
          jwksUrl: url('security.oidc.jwksUrl'),
          rolesClaim: str(
            get('security.oidc.rolesClaim'),
            'security.oidc.rolesClaim',
            from('security.oidc.rolesClaim'),
          ),
          loginClaim: str(
            get('security.oidc.loginClaim'),
            'security.oidc.loginClaim',
            from('security.oidc.loginClaim'),
          ),
        };
      })(),
    },
    audit: {
      site: str(get('audit.site'), 'audit.site', from('audit.site')),
      failOpen: bool(get('audit.failOpen'), 'audit.failOpen', from('audit.failOpen')),
      checkpointFile: optionalPath(
        get('audit.checkpointFile'),
        'audit.checkpointFile',
        from('audit.checkpointFile'),
      ),
      checkpointKey: optionalPath(
        get('audit.checkpointKey'),
        'audit.checkpointKey',
        from('audit.checkpointKey'),
      ),
      syslog: {
        host:
          get('audit.syslog.host') === undefined
            ? undefined
            : str(get('audit.syslog.host'), 'audit.syslog.host', from('audit.syslog.host')),
        port: port(get('audit.syslog.port'), 'audit.syslog.port', from('audit.syslog.port')),
        ca: optionalPath(get('audit.syslog.ca'), 'audit.syslog.ca', from('audit.syslog.ca')),
        cert: optionalPath(get('audit.syslog.cert'), 'audit.syslog.cert', from('audit.syslog.cert')),
        key: optionalPath(get('audit.syslog.key'), 'audit.syslog.key', from('audit.syslog.key')),
      },
    },
    log: { level: logLevel as Config['log']['level'] },
  };
}

/** The path of every setting (`dicom.port`, ...): the leaves of DEFAULTS; lists are leaves. */
export function settingPaths(): string[] {
  const out: string[] = [];
  const walk = (o: Raw, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Raw, path);
      else out.push(path);
    }
  };
  walk(DEFAULTS as unknown as Raw, '');
  return out;
}

/** Where objects are stored: storage.path, relative to the data folder unless absolute. */
export function storageRoot(c: Config): string {
  const p = c.storage.path ?? 'storage';
  return isAbsolute(p) ? p : join(c.dataDir, p);
}
