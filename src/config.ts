import { availableParallelism, hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './core/errors.js';
import { isNodeId, nodeIdOf } from './core/node/node-id.js';
import { ROLE_NAMES } from './core/security/roles.js';

// Every setting is one entry of SETTINGS below: how its value is checked, its default, its environment variable
// and command-line flag, and its row of docs/configuration.md (scripts/gen-docs.mjs writes that table).
// The Config type, DEFAULTS, ENVIRONMENT and loadConfig all come from it.

type Source = string; // where a value came from, for error messages

/** The values loadConfig was given (file, environment, flags) over the defaults, before they are checked. */
interface Given {
  /** The value a setting was given, else its default. */
  value(path: string): unknown;
  /** Where that value came from: a file, a variable, `command line` or `defaults`. */
  from(path: string): Source;
}

/** Checks a setting's value (as given, or its default) and returns it as the configuration holds it. */
type Check<T> = (v: unknown, name: string, from: Source, given: Given) => T;

interface Setting<T> {
  readonly check: Check<T>;
  readonly default: T;
  /** The environment variable that sets it. */
  readonly env?: string;
  /** The command-line flag that sets it (the command passes it in `flags`); for the documentation. */
  readonly flag?: string;
  /** Another setting whose value this one takes when it is given none (checked as this one). */
  readonly fallback?: string;
  /** The default column of docs/configuration.md, when it is not the default value itself. */
  readonly defaultText?: string;
  /** The meaning column of docs/configuration.md. */
  readonly meaning: string;
}

// The type of a setting is what its check returns (its default is checked against that, not inferred from).
const setting = <T>(s: Omit<Setting<T>, 'default'> & { readonly default: NoInfer<T> }): Setting<T> => s;

export interface ConfiguredAe {
  readonly aeTitle: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Unset: the registry's default (store, find, get, move, and destination when a port is given). */
  readonly allow: readonly string[] | undefined;
  /** `device` or `people`; unset: people when it may query or retrieve. */
  readonly mode: string | undefined;
  /** SHA-256 of its TLS client certificate, to bind it to the title. */
  readonly certSha256: string | undefined;
}

// ---- Checks ----

/** A whole number: a JSON integer, or a string of digits (environment, flags). */
function whole(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function integer(min: number, max: number, must: string) {
  return (v: unknown, name: string, from: Source): number => {
    const n = whole(v);
    if (n === undefined || n < min || n > max) {
      throw new ConfigError(`${name} must be ${must}, got ${JSON.stringify(v)} (from ${from})`);
    }
    return n;
  };
}

const port = integer(0, 65535, 'a port number 0-65535');
const positiveInt = integer(1, Infinity, 'a positive integer');

/** A positive integer within bounds. */
function between(min: number, max: number) {
  return (v: unknown, name: string, from: Source): number => {
    const n = positiveInt(v, name, from);
    if (n < min || n > max) throw new ConfigError(`${name} must be ${min}-${max}, got ${n} (from ${from})`);
    return n;
  };
}

function bool(v: unknown, name: string, from: Source): boolean {
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(v)} (from ${from})`);
}

function str(v: unknown, name: string, from: Source): string {
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(`${name} must be a non-empty string (from ${from})`);
  return v;
}

/** A file or folder, made absolute. */
function path(v: unknown, name: string, from: Source): string {
  return resolve(str(v, name, from));
}

function httpUrl(v: unknown, name: string, from: Source): string {
  if (typeof v !== 'string' || !/^https?:\/\/\S+$/.test(v)) {
    throw new ConfigError(`${name} must be an http(s) URL (from ${from})`);
  }
  return v;
}

function postgresUrl(v: unknown, name: string, from: Source): string {
  if (typeof v !== 'string' || !/^postgres(ql)?:\/\//.test(v)) {
    throw new ConfigError(
      `${name} must be a postgres:// URL, or unset for the embedded SQLite index (from ${from})`,
    );
  }
  return v;
}

/** Unset stays unset. */
function optional<T>(check: (v: unknown, name: string, from: Source) => T) {
  return (v: unknown, name: string, from: Source): T | undefined =>
    v === undefined ? undefined : check(v, name, from);
}

function oneOf<const T extends readonly string[]>(values: T) {
  return (v: unknown, name: string, from: Source): T[number] => {
    if (typeof v !== 'string' || !values.includes(v)) {
      throw new ConfigError(
        `${name} must be one of ${values.join(', ')}, got ${JSON.stringify(v)} (from ${from})`,
      );
    }
    return v;
  };
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

/** A comma-separated list (environment) or an array (file) of strings each matching `pattern`. */
function listOf(pattern: RegExp, what: string) {
  return (v: unknown, name: string, from: Source): readonly string[] => {
    const list =
      typeof v === 'string'
        ? v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : v;
    if (!Array.isArray(list) || !list.every((o) => typeof o === 'string' && pattern.test(o)))
      throw new ConfigError(`${name} must list ${what} (from ${from})`);
    return list as string[];
  };
}

/** Role names (built in), comma-separated in the environment. */
const roleList = listOf(new RegExp(`^(?:${ROLE_NAMES.join('|')})$`), `roles (${ROLE_NAMES.join(', ')})`);

/** IPv4 or IPv6 addresses, optionally with a CIDR prefix length. */
const proxyAddresses = listOf(
  /^(?:\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(?:\/\d{1,3})?)$/,
  'IP addresses or CIDR ranges, like 10.0.0.5 or 10.0.0.0/24',
);
/** Host names or addresses as the Host header carries them, without the port; `*.` allows subdomains. */
const hostNames = listOf(
  /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9a-fA-F:.]+\]$/,
  'host names like pacs.example.org (or *.example.org, or [::1])',
);

/** Origins (`https://viewer.example.org`) or `*`. */
const origins = listOf(/^(?:\*|https?:\/\/[^\s/]+)$/, 'origins like https://viewer.example.org, or *');

function configuredAes(v: unknown, name: string, from: Source): readonly ConfiguredAe[] {
  if (!Array.isArray(v)) throw new ConfigError(`${name} must be a list of AEs (from ${from})`);
  return v.map((e: unknown, i) => {
    const o = e as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.aeTitle !== 'string') {
      throw new ConfigError(`${name}[${i}] must be an object with an aeTitle (from ${from})`);
    }
    const allow = o.allow;
    if (allow !== undefined && (!Array.isArray(allow) || !allow.every((a) => typeof a === 'string'))) {
      throw new ConfigError(`${name}[${i}].allow must be a list of permissions (from ${from})`);
    }
    return {
      aeTitle: checkAeTitle(o.aeTitle, from),
      host: o.host === undefined ? '' : str(o.host, `${name}[${i}].host`, from),
      port: o.port === undefined ? 0 : port(o.port, `${name}[${i}].port`, from),
      tls: o.tls === undefined ? false : bool(o.tls, `${name}[${i}].tls`, from),
      allow: allow as string[] | undefined,
      mode: o.mode === undefined ? undefined : str(o.mode, `${name}[${i}].mode`, from),
      certSha256:
        o.certSha256 === undefined ? undefined : str(o.certSha256, `${name}[${i}].certSha256`, from),
    };
  });
}

/** A node id: a safe path segment, since it names the node's own folder in shared storage. */
function nodeId(v: unknown, name: string, from: Source): string {
  if (!isNodeId(v)) {
    throw new ConfigError(
      `${name} must be 1-64 letters, digits, '.', '_' or '-' (not '.' or '..'), got ${JSON.stringify(v)} (from ${from})`,
    );
  }
  return v;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// ---- The settings ----

const SETTINGS = {
  dataDir: setting({
    check: path,
    default: './data',
    env: 'LANTERN_DATA',
    flag: '--data',
    meaning: 'folder for the SQLite index and the stored objects',
  }),
  node: {
    id: setting({
      check: nodeId,
      default: nodeIdOf(hostname()),
      env: 'LANTERN_NODE_ID',
      defaultText: 'the host name',
      meaning:
        "this process's name among the nodes that share one index and one storage area, unique among them: 1-64 letters, digits, `.`, `_`, `-` (a host name's other characters become `-`); its temporary files go to `tmp/<node.id>/` in the storage folder",
    }),
  },
  dicom: {
    aeTitle: setting({
      check: (v, _name, from) => checkAeTitle(v, from),
      default: 'LANTERN',
      env: 'LANTERN_AET',
      flag: '--aet',
      meaning: 'our AE title: 1-16 printable ASCII characters, no backslash',
    }),
    port: setting({
      check: port,
      default: 11112,
      env: 'LANTERN_DICOM_PORT',
      flag: '--dicom-port',
      meaning: 'DICOM port',
    }),
    host: setting({
      check: str,
      default: '0.0.0.0',
      env: 'LANTERN_DICOM_HOST',
      meaning: 'address the DICOM port listens on',
    }),
    acceptUnknownCallers: setting({
      check: bool,
      default: false,
      env: 'LANTERN_DICOM_ACCEPT_UNKNOWN',
      meaning: 'accept associations (stores only) from AEs the registry does not know',
    }),
    maxAssociations: setting({
      check: positiveInt,
      default: 32,
      env: 'LANTERN_DICOM_MAX_ASSOCIATIONS',
      meaning: 'established associations at once; beyond, A-ASSOCIATE-RJ (transient, local limit exceeded)',
    }),
    maxPendingAssociations: setting({
      check: positiveInt,
      default: 64,
      env: 'LANTERN_DICOM_MAX_PENDING',
      meaning: 'connections not yet associated, in all; when full, the oldest is closed to make room',
    }),
    maxPendingPerAddress: setting({
      check: positiveInt,
      default: 8,
      env: 'LANTERN_DICOM_MAX_PENDING_PER_ADDRESS',
      meaning: "connections not yet associated from one address; when full, that address's oldest is closed",
    }),
    maxPduLength: setting({
      check: between(4096, 16 * 1024 * 1024),
      default: 262144,
      env: 'LANTERN_DICOM_MAX_PDU',
      meaning: 'the largest P-DATA PDU we receive (4096-16777216)',
    }),
    artimSeconds: setting({
      check: positiveInt,
      default: 5,
      env: 'LANTERN_DICOM_ARTIM_SECONDS',
      meaning:
        'the whole A-ASSOCIATE-RQ (and a TLS handshake) must arrive within this after connecting; and a peer must close within it after a reject, release or abort',
    }),
    idleSeconds: setting({
      check: positiveInt,
      default: 300,
      env: 'LANTERN_DICOM_IDLE_SECONDS',
      meaning:
        'an association with no PDU from the peer for this long is aborted (idle, or while we wait for it); also how long a C-MOVE destination may take to answer',
    }),
    tlsPort: setting({
      check: port,
      default: 2762,
      env: 'LANTERN_DICOM_TLS_PORT',
      flag: '--dicom-tls-port',
      meaning: 'DICOM TLS port (on when a certificate and key are set)',
    }),
    // One certificate serves both: DICOM TLS takes HTTP's when it has none of its own.
    tlsCert: setting({
      check: optional(path),
      default: undefined,
      env: 'LANTERN_DICOM_TLS_CERT',
      fallback: 'http.tlsCert',
      meaning: 'DICOM TLS certificate chain (PEM)',
    }),
    tlsKey: setting({
      check: optional(path),
      default: undefined,
      env: 'LANTERN_DICOM_TLS_KEY',
      fallback: 'http.tlsKey',
      meaning: 'its private key (PEM)',
    }),
    tlsCa: setting({
      check: optional(path),
      default: undefined,
      env: 'LANTERN_DICOM_TLS_CA',
      meaning: 'CA certificates client certificates must chain to (clients are asked for one)',
    }),
    tlsRequireClientCert: setting({
      check: bool,
      default: false,
      env: 'LANTERN_DICOM_TLS_REQUIRE_CLIENT_CERT',
      meaning: 'a client certificate is mandatory',
    }),
    plainPort: setting({
      check: bool,
      default: true,
      env: 'LANTERN_DICOM_PLAIN_PORT',
      meaning:
        'whether `dicom.port` (clear text) listens; false leaves DICOM TLS alone (recommended once every peer speaks TLS; needs `dicom.tlsCert`)',
    }),
    requireUserIdentity: setting({
      check: bool,
      default: false,
      env: 'LANTERN_DICOM_REQUIRE_USER_IDENTITY',
      meaning:
        'associations must carry a username/passcode user identity of an enabled account (PS3.7 D.3.3.7)',
    }),
    aes: setting({
      check: configuredAes,
      default: [],
      meaning: 'peers added to the AE registry at every start (file only; below)',
    }),
  },
  http: {
    port: setting({
      check: port,
      default: 8080,
      env: 'LANTERN_HTTP_PORT',
      flag: '--http-port',
      meaning: 'HTTP port',
    }),
    host: setting({
      // Loopback until TLS is configured; a site may bind elsewhere explicitly.
      check: (v, name, from, given) =>
        from === 'defaults' && (given.value('http.tlsCert') ?? given.value('dicom.tlsCert'))
          ? '0.0.0.0'
          : str(v, name, from),
      default: '127.0.0.1',
      env: 'LANTERN_HTTP_HOST',
      meaning: 'address HTTP listens on (loopback by default; `0.0.0.0` by default once TLS is configured)',
    }),
    tlsCert: setting({
      check: optional(path),
      default: undefined,
      env: 'LANTERN_HTTP_TLS_CERT',
      fallback: 'dicom.tlsCert',
      meaning:
        "HTTPS certificate chain (PEM); unset, DICOM TLS's certificate is used when set; with TLS, `http.host` defaults to `0.0.0.0`",
    }),
    tlsKey: setting({
      check: optional(path),
      default: undefined,
      env: 'LANTERN_HTTP_TLS_KEY',
      fallback: 'dicom.tlsKey',
      meaning: 'its private key (PEM); `dicom.tlsCert`/`dicom.tlsKey` default to these when unset',
    }),
    trustProxy: setting({
      check: proxyAddresses,
      default: [],
      env: 'LANTERN_HTTP_TRUST_PROXY',
      meaning:
        'addresses (or CIDR ranges) of reverse proxies in front of Lantern: from them, `X-Forwarded-For` gives the client address (the login throttle and the audit trail use it) and `X-Forwarded-Proto` the scheme (`https` makes the session cookie `Secure` and `__Host-`); empty: the connection is the client',
    }),
    allowedHosts: setting({
      check: hostNames,
      default: [],
      env: 'LANTERN_HTTP_ALLOWED_HOSTS',
      meaning:
        "host names the `Host` header may carry (`pacs.example.org`, `*.example.org`); other requests get 421. Empty: while HTTP listens on loopback only loopback names (`localhost`, `127.0.0.1`, `[::1]`), else any (set it: RetrieveURLs are built from the Host header unless `http.publicUrl` is set). `http.publicUrl`'s host is always allowed",
    }),
    publicUrl: setting({
      check: optional(httpUrl),
      default: undefined,
      env: 'LANTERN_HTTP_PUBLIC_URL',
      meaning:
        'the URL clients reach HTTP at (behind a proxy): RetrieveURLs and BulkDataURIs start with it; unset: taken from each request',
    }),
    maxStowBytes: setting({
      check: positiveInt,
      default: 4 * 1024 * 1024 * 1024,
      env: 'LANTERN_HTTP_MAX_STOW_BYTES',
      meaning: 'the largest STOW-RS request body (bytes); larger ones get 413',
    }),
    corsOrigins: setting({
      check: origins,
      default: [],
      env: 'LANTERN_HTTP_CORS_ORIGINS',
      meaning:
        'origins (`https://viewer.example.org`, comma-separated in the environment; `*` for any) whose browsers may call DICOMweb cross-origin; empty: no CORS headers',
    }),
    bodyIdleSeconds: setting({
      check: positiveInt,
      default: 30,
      env: 'LANTERN_HTTP_BODY_IDLE_SECONDS',
      meaning: 'a STOW-RS body that sends nothing for this long gets 408 and its connection is closed',
    }),
    requestTimeoutSeconds: setting({
      check: positiveInt,
      default: 30,
      env: 'LANTERN_HTTP_REQUEST_TIMEOUT_SECONDS',
      meaning:
        'every other request must arrive whole (headers and body) within this; else 408 and the connection is closed',
    }),
    idleSeconds: setting({
      check: positiveInt,
      default: 300,
      env: 'LANTERN_HTTP_IDLE_SECONDS',
      meaning:
        'a connection with no traffic either way for this long is closed (also a download its client stopped reading, or a request whose answer takes longer than this to start)',
    }),
    maxConnectionsPerAddress: setting({
      check: integer(0, Infinity, '0 (no limit) or more'),
      default: 64,
      env: 'LANTERN_HTTP_MAX_CONNECTIONS_PER_ADDRESS',
      meaning:
        'connections from one address at once; past it, 429 and the new connection closed; `0`: no limit (raise it behind a reverse proxy)',
    }),
    imageWorkers: setting({
      check: integer(0, 64, '0-64'),
      default: Math.max(1, Math.min(4, availableParallelism())),
      env: 'LANTERN_HTTP_IMAGE_WORKERS',
      defaultText: 'cores, at most 4',
      meaning: 'worker threads decoding, transcoding and rendering frames; `0` runs them on the main thread',
    }),
  },
  index: {
    url: setting({
      check: optional(postgresUrl),
      default: undefined,
      env: 'LANTERN_INDEX_URL',
      meaning: 'a `postgres://` URL to keep the index in PostgreSQL; unset: SQLite in `dataDir/index.sqlite`',
    }),
  },
  storage: {
    path: setting({
      check: optional(str),
      default: undefined,
      env: 'LANTERN_STORAGE_PATH',
      defaultText: '`storage`', // storageRoot()
      meaning: 'folder for stored objects; relative paths are inside `dataDir`',
    }),
    studyStableSeconds: setting({
      check: integer(1, 86_400, '1-86400 seconds'),
      default: 60,
      env: 'LANTERN_STUDY_STABLE_SECONDS',
      meaning:
        'a study that received an instance within this many seconds is shown as still receiving (its transfer may not be over)',
    }),
    verifyDays: setting({
      check: integer(0, 3650, '0 (off) to 3650 days'),
      default: 30,
      env: 'LANTERN_VERIFY_DAYS',
      meaning:
        '`serve` re-reads and re-hashes every stored object once in this many days, in the background (a damaged one is flagged, alerted and no longer served); `0`: only on demand (`lantern verify`)',
    }),
    versionDays: setting({
      check: integer(0, 36_500, '0-36500 days'),
      default: 30,
      env: 'LANTERN_VERSION_DAYS',
      meaning:
        'a stored file replaced by an operation on patient records (edit, merge, move) is kept this many days as a prior version, then removed',
    }),
    verifyMBps: setting({
      check: integer(1, 100_000, '1-100000 MB/s'),
      default: 40,
      env: 'LANTERN_VERIFY_MBPS',
      meaning: 'the background verification reads at most this many MB a second on average',
    }),
  },
  query: {
    maxResults: setting({
      check: positiveInt,
      default: 1000,
      env: 'LANTERN_QUERY_MAX_RESULTS',
      meaning: 'the most results one query returns',
    }),
  },
  security: {
    authentication: setting({
      check: bool,
      default: true,
      env: 'LANTERN_AUTHENTICATION',
      meaning:
        'every HTTP request but `/healthz` and the login needs a session or an API token; `false` is accepted only with `http.host` on loopback',
    }),
    sessionIdleMinutes: setting({
      check: positiveInt,
      default: 15,
      env: 'LANTERN_SESSION_IDLE_MINUTES',
      meaning: 'a session unused this long ends',
    }),
    sessionMaxHours: setting({
      check: positiveInt,
      default: 12,
      env: 'LANTERN_SESSION_MAX_HOURS',
      meaning: 'a session ends this long after login, however active',
    }),
    lockoutThreshold: setting({
      check: positiveInt,
      default: 5,
      meaning:
        'failed logins for one login name within `security.lockoutMinutes` before it is locked for as long; attempts are counted before the password is checked, and those past the threshold with the ones in progress wait for them, so guesses sent at once get no more checks',
    }),
    lockoutMinutes: setting({
      check: positiveInt,
      default: 15,
      meaning: 'the window and the lock time',
    }),
    addressThreshold: setting({
      check: positiveInt,
      default: 20,
      meaning:
        'failed logins from one address within the window before it is throttled (attempts being checked at the same time count too: past the threshold they wait for those to end)',
    }),
    mfaRoles: setting({
      check: roleList,
      default: ['administrator', 'informaticist'],
      env: 'LANTERN_MFA_ROLES',
      meaning:
        'roles whose people log in with a second factor (TOTP, RFC 6238, with recovery codes; comma-separated in the environment, empty for none): until they have enrolled one, a signed-in session of theirs can only enrol',
    }),
    tokenMaxDays: setting({
      check: between(1, 3650),
      default: 90,
      env: 'LANTERN_TOKEN_MAX_DAYS',
      meaning:
        'the longest life of an API token: a token asks for at most this many days (the default when it asks for none), and a token made before a lower limit ends at it too',
    }),
    oidc: {
      issuer: setting({
        check: optional(httpUrl),
        default: undefined,
        env: 'LANTERN_OIDC_ISSUER',
        meaning: 'an OpenID Connect provider whose bearer JWTs are accepted (`docs/security.md`)',
      }),
      audience: setting({
        // The issuer, checked before, is unset or a URL.
        check: (v, name, from, given) => {
          if (given.value('security.oidc.issuer') && (typeof v !== 'string' || !v)) {
            throw new ConfigError(
              `${name} must name this server's client ID when an issuer is set (from ${from})`,
            );
          }
          return typeof v === 'string' ? v : undefined;
        },
        default: undefined,
        env: 'LANTERN_OIDC_AUDIENCE',
        meaning: 'the audience (client ID) its tokens must name; required with an issuer',
      }),
      jwksUrl: setting({
        check: optional(httpUrl),
        default: undefined,
        env: 'LANTERN_OIDC_JWKS_URL',
        defaultText: 'discovered',
        meaning: 'its key set; default: `jwks_uri` from `<issuer>/.well-known/openid-configuration`',
      }),
      rolesClaim: setting({
        check: str,
        default: 'roles',
        env: 'LANTERN_OIDC_ROLES_CLAIM',
        meaning: 'the claim (dotted path) holding Lantern role names',
      }),
      loginClaim: setting({
        check: str,
        default: 'preferred_username',
        meaning: 'the claim naming the user',
      }),
    },
  },
  audit: {
    site: setting({
      check: str,
      default: hostname(),
      env: 'LANTERN_AUDIT_SITE',
      defaultText: 'the host name',
      meaning: 'the site in audit user IDs (`login@site`) and the audit source',
    }),
    failOpen: setting({
      check: bool,
      default: false,
      env: 'LANTERN_AUDIT_FAIL_OPEN',
      meaning:
        'emergency only: operations go on when their audit record cannot be written (each failure is logged)',
    }),
    accessWindowSeconds: setting({
      check: integer(0, 86_400, '0-86400 seconds'),
      default: 300,
      env: 'LANTERN_AUDIT_ACCESS_WINDOW',
      meaning:
        'reads of one study by one person over HTTP (metadata, frames, rendered images, thumbnails: a viewer opening a study) are recorded as one Instances Accessed event per this many seconds; 0 records every read; retrievals of whole objects and DICOM transfers are always recorded each',
    }),
    alertWindowSeconds: setting({
      check: integer(1, 86_400, '1-86400 seconds'),
      default: 60,
      env: 'LANTERN_AUDIT_ALERT_WINDOW',
      meaning:
        'refusals (HTTP 401 and 403, failed re-authentication, rejected associations, refused commitment) are recorded as Security Alerts at most once per source and kind in this many seconds; the next record counts the rest',
    }),
    checkpointFile: setting({
      check: optional(path),
      default: undefined,
      defaultText: '`<data>/audit-checkpoints.jsonl`',
      meaning: 'where signed checkpoints of the audit chain head are appended (best on another volume)',
    }),
    checkpointKey: setting({
      check: optional(path),
      default: undefined,
      defaultText: '`<data>/audit-signing.key`',
      meaning:
        'the Ed25519 key that signs them (made on first use); best outside the data folder, readable by Lantern alone (`lantern audit key` prints its public half for an external witness)',
    }),
    checkpointEvery: setting({
      check: integer(1, 100_000, '1-100000 records'),
      default: 100,
      env: 'LANTERN_AUDIT_CHECKPOINT_EVERY',
      meaning: 'a signed checkpoint after at most this many audit records',
    }),
    checkpointMinutes: setting({
      check: integer(1, 1440, '1-1440 minutes'),
      default: 5,
      env: 'LANTERN_AUDIT_CHECKPOINT_MINUTES',
      meaning:
        'and at most this many minutes after a record (and at stop); `audit verify` fails on records older than this (plus 2 minutes) that no checkpoint covers',
    }),
    syslog: {
      host: setting({
        check: optional(str),
        default: undefined,
        env: 'LANTERN_AUDIT_SYSLOG_HOST',
        meaning: 'an audit record repository: the trail is sent there over syslog/TLS (`docs/audit.md`)',
      }),
      port: setting({
        check: port,
        default: 6514,
        env: 'LANTERN_AUDIT_SYSLOG_PORT',
        meaning: 'its port',
      }),
      ca: setting({
        check: optional(path),
        default: undefined,
        env: 'LANTERN_AUDIT_SYSLOG_CA',
        defaultText: 'system CAs',
        meaning: 'CA certificate(s) its certificate must chain to (PEM)',
      }),
      cert: setting({
        check: optional(path),
        default: undefined,
        meaning: 'our client certificate (PEM), when it asks for one',
      }),
      key: setting({
        check: optional(path),
        default: undefined,
        meaning: 'its private key (PEM)',
      }),
    },
  },
  log: {
    level: setting({
      check: oneOf(LEVELS),
      default: 'info',
      env: 'LANTERN_LOG_LEVEL',
      meaning: `operational log level: ${LEVELS.join(', ')}`,
    }),
    access: setting({
      check: optional((v, name, from) => (v === 'stdout' ? 'stdout' : path(v, name, from))),
      default: undefined,
      env: 'LANTERN_LOG_ACCESS',
      meaning:
        'the HTTP access log: a file (JSON lines, appended) or `stdout`; one line per request with the method, the route as declared (`/dicom-web/studies/:study`, never its values or the query), status, milliseconds, user and client address. Unset: none',
    }),
  },
};

/** Checks across settings, on the values as given, before each setting is checked. */
const RULES: readonly ((given: Given) => void)[] = [
  (given) => {
    if ((given.value('dicom.tlsCert') === undefined) !== (given.value('dicom.tlsKey') === undefined)) {
      throw new ConfigError(
        'dicom.tlsCert and dicom.tlsKey go together: give both to enable DICOM TLS, or neither',
      );
    }
  },
];

type Values<S> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : Values<S[K]> };

/** Every setting, with its default. docs/configuration.md describes each one. */
export type Config = Values<typeof SETTINGS>;

type Raw = Record<string, unknown>;

const isSetting = (v: unknown): v is Setting<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as Setting<unknown>).check === 'function';

/** The settings by path (`dicom.port`), in the order of the table. */
const ENTRIES: ReadonlyMap<string, Setting<unknown>> = (() => {
  const out = new Map<string, Setting<unknown>>();
  const walk = (o: object, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (isSetting(v)) out.set(path, v);
      else walk(v as object, path);
    }
  };
  walk(SETTINGS, '');
  return out;
})();

function setPath(obj: Raw, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Raw;
  }
  o[parts[parts.length - 1]] = value;
}

/** The nested object of a value per setting. */
function tree(valueOf: (path: string, s: Setting<unknown>) => unknown): Config {
  const out: Raw = {};
  for (const [path, s] of ENTRIES) setPath(out, path, valueOf(path, s));
  // The walk over SETTINGS builds exactly the shape Values<typeof SETTINGS> describes.
  return out as unknown as Config;
}

export const DEFAULTS: Config = tree((_path, s) => s.default);

/** Environment variables and the setting each overrides. */
export const ENVIRONMENT: Record<string, string> = Object.fromEntries(
  [...ENTRIES].filter(([, s]) => s.env !== undefined).map(([path, s]) => [s.env, path]),
);

export interface LoadOptions {
  /** A JSON configuration file. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, by setting path (highest precedence). */
  readonly flags?: Record<string, unknown>;
}

/** Defaults, then the file, then LANTERN_* variables, then flags; validated with messages naming the source. */
export function loadConfig(options: LoadOptions = {}): Config {
  const values = new Map<string, unknown>();
  const sources = new Map<string, Source>();
  const give = (path: string, v: unknown, from: Source) => {
    values.set(path, v);
    sources.set(path, from);
  };
  if (options.file) {
    const file = options.file;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`configuration file ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`configuration file ${file} must hold a JSON object`);
    }
    // Objects are groups of settings; anything else (lists such as dicom.aes too) is a setting's value.
    const walk = (o: Raw, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Raw, path);
        else {
          if (!ENTRIES.has(path)) throw new ConfigError(`unknown setting "${path}" in ${file}`);
          give(path, v, file);
        }
      }
    };
    walk(parsed as Raw, '');
  }
  const env = options.env ?? process.env;
  for (const [path, s] of ENTRIES) {
    const v = s.env === undefined ? undefined : env[s.env];
    if (v !== undefined && v !== '') give(path, v, s.env!);
  }
  for (const [path, v] of Object.entries(options.flags ?? {})) {
    if (v !== undefined) give(path, v, 'command line');
  }
  const given: Given = {
    value: (path) => values.get(path) ?? ENTRIES.get(path)?.default,
    from: (path) => sources.get(path) ?? 'defaults',
  };
  for (const rule of RULES) rule(given);
  return tree((path, s) => {
    const v = given.value(path) ?? (s.fallback === undefined ? undefined : given.value(s.fallback));
    return s.check(v, path, given.from(path), given);
  });
}

/** The path of every setting (`dicom.port`, ...), in the order of the table; lists are settings. */
export function settingPaths(): string[] {
  return [...ENTRIES.keys()];
}

/** A row of the settings table in docs/configuration.md. */
export interface SettingDoc {
  readonly setting: string;
  readonly variable: string | undefined;
  readonly flag: string | undefined;
  readonly default: string;
  readonly meaning: string;
}

export function settingDocs(): SettingDoc[] {
  const shown = (s: Setting<unknown>) => {
    if (s.defaultText !== undefined) return s.defaultText;
    if (s.default === undefined) return s.fallback === undefined ? 'unset' : `unset (\`${s.fallback}\`)`;
    if (Array.isArray(s.default) && s.default.length === 0) return 'empty';
    return `\`${String(s.default)}\``;
  };
  return [...ENTRIES].map(([path, s]) => ({
    setting: path,
    variable: s.env,
    flag: s.flag,
    default: shown(s),
    meaning: s.meaning,
  }));
}

/** The settings table of docs/configuration.md, in Markdown (unaligned: prettier aligns it). */
export function settingsTable(): string {
  const code = (s: string | undefined) => (s === undefined ? '' : `\`${s}\``);
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| setting | variable | flag | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...settingDocs().map(
      (d) =>
        `| ${code(d.setting)} | ${code(d.variable)} | ${code(d.flag)} | ${cell(d.default)} | ${cell(d.meaning)} |`,
    ),
  ].join('\n');
}

/** Where objects are stored: storage.path, relative to the data folder unless absolute. */
export function storageRoot(c: Config): string {
  const p = c.storage.path ?? 'storage';
  return isAbsolute(p) ? p : join(c.dataDir, p);
}
