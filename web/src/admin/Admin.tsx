import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type Me } from '../api.js';
import { navigate } from '../router.js';

/** The sections, each shown to those whose permission it needs. */
export const SECTIONS = [
  { id: 'users', label: 'Users', permission: 'users.manage' },
  { id: 'peers', label: 'DICOM peers', permission: 'ae.manage' },
  { id: 'status', label: 'Storage and index', permission: 'system.read' },
  { id: 'quarantine', label: 'Quarantine', permission: 'system.read' },
  { id: 'integrity', label: 'Integrity', permission: 'system.read' },
  { id: 'audit', label: 'Audit trail', permission: 'audit.read' },
] as const;

export function allowedSections(me: Me): (typeof SECTIONS)[number][] {
  const p = new Set(me.permissions ?? []);
  return SECTIONS.filter((s) => p.has(s.permission));
}

/** Loads JSON from the API, with the error shown instead of the data when it fails. */
function useApi<T>(path: string): { data?: T; error: string; reload: () => void } {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    api<T>('GET', path)
      .then((d) => live && (setData(d), setError('')))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [path, n]);
  return { data, error, reload: useCallback(() => setN((x) => x + 1), []) };
}

/** A list read a page at a time by id (`after`), with its pager: the previous pages' starts kept. */
function usePaged<T extends { id: number }>(path: string, size = 50) {
  const [after, setAfter] = useState<number[]>([0]);
  const list = useApi<T[]>(
    `${path}${path.includes('?') ? '&' : '?'}after=${after[after.length - 1]}&limit=${size}`,
  );
  const pager = (
    <nav className="pager">
      <button type="button" disabled={after.length < 2} onClick={() => setAfter((a) => a.slice(0, -1))}>
        Previous
      </button>
      <button
        type="button"
        disabled={(list.data?.length ?? 0) < size}
        onClick={() => setAfter((a) => [...a, list.data![list.data!.length - 1].id])}
      >
        Next
      </button>
    </nav>
  );
  return { ...list, pager };
}

function Problem({ text }: { text: string }) {
  return text ? (
    <p role="alert" className="error">
      {text}
    </p>
  ) : null;
}

const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : '');
const bytes = (n: number) =>
  n >= 1e12
    ? `${(n / 1e12).toFixed(2)} TB`
    : n >= 1e9
      ? `${(n / 1e9).toFixed(2)} GB`
      : n >= 1e6
        ? `${(n / 1e6).toFixed(1)} MB`
        : `${Math.round(n / 1e3)} kB`;

interface Account {
  login: string;
  displayName: string;
  roles: string[];
  enabled: boolean;
  mustChangePassword: boolean;
  kind: 'person' | 'service';
}
const ROLE_NAMES = [
  'administrator',
  'informaticist',
  'radiographer',
  'radiologist',
  'clinician',
  'researcher',
  'auditor',
];

function AccountDetail({ login, service }: { login: string; service: boolean }) {
  const sessions = useApi<
    { id: string; createdAt: string; lastSeenAt: string; address: string; userAgent: string }[]
  >(`/api/users/${encodeURIComponent(login)}/sessions`);
  const tokens = useApi<
    { id: number; name: string; createdAt: string; expiresAt?: string; revokedAt?: string }[]
  >(`/api/users/${encodeURIComponent(login)}/tokens`);
  const [error, setError] = useState('');
  const [made, setMade] = useState('');
  const [password, setPassword] = useState('');
  const act = async (f: () => Promise<unknown>, reload: () => void) => {
    try {
      await f();
      setError('');
      reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div className="detail">
      <h3>Active sessions of {login}</h3>
      <Problem text={sessions.error || error} />
      <table className="admin">
        <thead>
          <tr>
            <th scope="col">Since</th>
            <th scope="col">Last seen</th>
            <th scope="col">Address</th>
            <th scope="col">Browser</th>
            <th scope="col">
              <span className="visually-hidden">End</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(sessions.data ?? []).map((s) => (
            <tr key={s.id} data-session={s.id}>
              <td>{when(s.createdAt)}</td>
              <td>{when(s.lastSeenAt)}</td>
              <td>{s.address}</td>
              <td className="ua">{s.userAgent}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    act(
                      () => api('DELETE', `/api/users/${encodeURIComponent(login)}/sessions/${s.id}`),
                      sessions.reload,
                    )
                  }
                >
                  End session
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessions.data?.length === 0 && <p className="sub">No active session.</p>}
      <h3>API tokens of {login}</h3>
      <Problem text={tokens.error} />
      <table className="admin">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Revoke</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data ?? []).map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{when(t.createdAt)}</td>
              <td>{t.expiresAt ? when(t.expiresAt) : '-'}</td>
              <td>{t.revokedAt ? `revoked ${when(t.revokedAt)}` : 'active'}</td>
              <td>
                {!t.revokedAt && (
                  <button
                    type="button"
                    onClick={() =>
                      act(
                        () => api('DELETE', `/api/users/${encodeURIComponent(login)}/tokens/${t.id}`),
                        tokens.reload,
                      )
                    }
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tokens.data?.length === 0 && <p className="sub">No token.</p>}
      {service && (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const r = await api<{ token: string }>(
                'POST',
                `/api/users/${encodeURIComponent(login)}/tokens`,
                { name: 'web app', password },
              );
              setPassword('');
              setMade(r.token);
            }, tokens.reload);
          }}
        >
          <label>
            Your password
            <input
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </label>
          <button type="submit">Make a token</button>
        </form>
      )}
      {made && (
        <p role="status" data-testid="token-made">
          Token for {login} (shown once): <code>{made}</code>
        </p>
      )}
      {!service && (
        <p className="sub">
          A person makes their own tokens; an administrator makes tokens only for service accounts.
        </p>
      )}
    </div>
  );
}

function Users() {
  const users = useApi<Account[]>('/api/users');
  const [login, setLogin] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState('radiographer');
  const [kind, setKind] = useState<'person' | 'service'>('person');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [open, setOpen] = useState<string | undefined>();
  const run = async (f: () => Promise<string | void>) => {
    try {
      const m = await f();
      setMessage(m ?? '');
      setError('');
      users.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users and roles</h2>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const r = await api<{ oneTimePassword: string }>('POST', '/api/users', {
              login,
              displayName: displayName || undefined,
              roles: [role],
              kind,
            });
            setLogin('');
            setDisplayName('');
            return kind === 'service'
              ? `Created the service account ${login}; make its tokens under Sessions and tokens.`
              : `Created ${login}. One-time password (shown once): ${r.oneTimePassword}`;
          });
        }}
      >
        <label>
          Login <input value={login} onChange={(e) => setLogin(e.target.value)} required />
        </label>
        <label>
          Name <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLE_NAMES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as 'person' | 'service')}>
            <option value="person">person</option>
            <option value="service">service (tokens only)</option>
          </select>
        </label>
        <button type="submit">Add user</button>
      </form>
      <Problem text={users.error || error} />
      {message && (
        <p role="status" data-testid="users-message">
          {message}
        </p>
      )}
      <table className="admin">
        <thead>
          <tr>
            <th scope="col">Login</th>
            <th scope="col">Name</th>
            <th scope="col">Roles</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.login} data-user={u.login}>
              <td>{u.login}</td>
              <td>{u.displayName}</td>
              <td>
                <select
                  aria-label={`Role of ${u.login}`}
                  value={u.roles[0] ?? ''}
                  onChange={(e) =>
                    run(async () => {
                      await api('PATCH', `/api/users/${encodeURIComponent(u.login)}`, {
                        roles: [e.target.value],
                      });
                      return `${u.login} is now ${e.target.value}`;
                    })
                  }
                >
                  {ROLE_NAMES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                {u.kind === 'service' ? 'service, ' : ''}
                {u.enabled ? 'enabled' : 'disabled'}
                {u.mustChangePassword ? ', must change password' : ''}
              </td>
              <td className="actions">
                <button
                  type="button"
                  onClick={() =>
                    run(async () => {
                      await api('PATCH', `/api/users/${encodeURIComponent(u.login)}`, {
                        enabled: !u.enabled,
                      });
                      return `${u.login} ${u.enabled ? 'disabled' : 'enabled'}`;
                    })
                  }
                >
                  {u.enabled ? 'Disable' : 'Enable'}
                </button>
                <button
                  type="button"
                  hidden={u.kind === 'service'}
                  onClick={() =>
                    run(async () => {
                      const r = await api<{ oneTimePassword: string }>(
                        'POST',
                        `/api/users/${encodeURIComponent(u.login)}/reset-password`,
                      );
                      return `New one-time password for ${u.login} (shown once): ${r.oneTimePassword}`;
                    })
                  }
                >
                  Reset password
                </button>
                <button
                  type="button"
                  hidden={u.kind === 'service'}
                  onClick={() =>
                    run(async () => {
                      await api('DELETE', `/api/users/${encodeURIComponent(u.login)}/mfa`);
                      return `${u.login}'s second factor was removed; they enrol again at their next sign-in`;
                    })
                  }
                >
                  Reset second factor
                </button>
                <button
                  type="button"
                  aria-expanded={open === u.login}
                  onClick={() => setOpen((o) => (o === u.login ? undefined : u.login))}
                >
                  Sessions and tokens
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && (
        <AccountDetail
          login={open}
          key={open}
          service={users.data?.find((u) => u.login === open)?.kind === 'service'}
        />
      )}
    </section>
  );
}

interface Ae {
  aeTitle: string;
  host: string;
  port: number;
  tls: boolean;
  permissions: string[];
  mode: 'device' | 'people';
}

function Peers() {
  const aes = useApi<Ae[]>('/api/aes');
  const [form, setForm] = useState({
    aeTitle: '',
    host: '',
    port: '104',
    permissions: 'store,find,move',
    mode: 'people',
  });
  const [echo, setEcho] = useState<Record<string, string>>({});
  const [error, setError] = useState('');
  const test = async (aet: string) => {
    setEcho((e) => ({ ...e, [aet]: 'testing…' }));
    try {
      const r = await api<{ ok: boolean; status?: number; ms?: number; error?: string }>(
        'POST',
        `/api/aes/${encodeURIComponent(aet)}/echo`,
      );
      setEcho((e) => ({
        ...e,
        [aet]: r.ok ? `C-ECHO ok in ${r.ms} ms` : `failed: ${r.error ?? `status ${r.status}`}`,
      }));
    } catch (err) {
      setEcho((e) => ({ ...e, [aet]: `failed: ${err instanceof Error ? err.message : String(err)}` }));
    }
  };
  return (
    <section aria-labelledby="peers-title">
      <h2 id="peers-title">DICOM peers (AE registry)</h2>
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await api('POST', '/api/aes', {
              aeTitle: form.aeTitle,
              host: form.host,
              port: Number(form.port) || 0,
              permissions: form.permissions
                .split(',')
                .map((p) => p.trim())
                .filter(Boolean),
              mode: form.mode,
            });
            setError('');
            setForm((f) => ({ ...f, aeTitle: '', host: '' }));
            aes.reload();
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          }
        }}
      >
        <label>
          AE title{' '}
          <input
            value={form.aeTitle}
            onChange={(e) => setForm({ ...form, aeTitle: e.target.value })}
            required
          />
        </label>
        <label>
          Host <input value={form.host} onChange={(e) => setForm({ ...form, host: e.target.value })} />
        </label>
        <label>
          Port{' '}
          <input
            value={form.port}
            onChange={(e) => setForm({ ...form, port: e.target.value })}
            className="narrow"
          />
        </label>
        <label>
          Allowed
          <input
            value={form.permissions}
            onChange={(e) => setForm({ ...form, permissions: e.target.value })}
          />
        </label>
        <label>
          Used by
          <select value={form.mode} onChange={(e) => setForm({ ...form, mode: e.target.value })}>
            <option value="people">people (user identity required)</option>
            <option value="device">a device (its grants stand)</option>
          </select>
        </label>
        <button type="submit">Add peer</button>
      </form>
      <Problem text={aes.error || error} />
      <table className="admin">
        <thead>
          <tr>
            <th scope="col">AE title</th>
            <th scope="col">Host</th>
            <th scope="col">Port</th>
            <th scope="col">TLS</th>
            <th scope="col">Allowed</th>
            <th scope="col">Used by</th>
            <th scope="col">Test</th>
            <th scope="col">
              <span className="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(aes.data ?? []).map((a) => (
            <tr key={a.aeTitle} data-ae={a.aeTitle}>
              <td>{a.aeTitle}</td>
              <td>{a.host || '(any)'}</td>
              <td>{a.port || ''}</td>
              <td>{a.tls ? 'yes' : 'no'}</td>
              <td>{a.permissions.join(', ')}</td>
              <td>{a.mode === 'people' ? 'people' : 'a device'}</td>
              <td>
                <button type="button" disabled={!a.host || !a.port} onClick={() => test(a.aeTitle)}>
                  C-ECHO
                </button>{' '}
                <span role="status" data-testid="echo-result">
                  {echo[a.aeTitle] ?? ''}
                </span>
              </td>
              <td>
                <button
                  type="button"
                  onClick={async () => {
                    await api('DELETE', `/api/aes/${encodeURIComponent(a.aeTitle)}`).catch((e: unknown) =>
                      setError(String(e)),
                    );
                    aes.reload();
                  }}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface Status {
  version: string;
  node: string;
  aeTitle: string;
  index: string;
  counts: Record<string, number>;
  bytes: { stored: number; quarantined: number };
  storage?: { freeBytes: number; totalBytes: number };
  faults: { count: number };
}

function StatusView() {
  const s = useApi<Status>('/api/status');
  const d = s.data;
  return (
    <section aria-labelledby="status-title">
      <h2 id="status-title">Storage and index</h2>
      <Problem text={s.error} />
      {d && (
        <dl className="facts" data-testid="status">
          <dt>Version</dt>
          <dd>
            Lantern {d.version}, node {d.node}, AE title {d.aeTitle}
          </dd>
          <dt>Index</dt>
          <dd>{d.index === 'postgres' ? 'PostgreSQL' : 'SQLite'}</dd>
          <dt>Held</dt>
          <dd data-testid="status-counts">
            {d.counts.patients} patients, {d.counts.studies} studies, {d.counts.series} series,{' '}
            {d.counts.instances} instances ({bytes(d.bytes.stored)})
          </dd>
          <dt>Quarantine</dt>
          <dd>
            {d.counts.quarantined} objects ({bytes(d.bytes.quarantined)})
          </dd>
          {d.storage && (
            <>
              <dt>Storage</dt>
              <dd>
                {bytes(d.storage.totalBytes - d.storage.freeBytes)} used of {bytes(d.storage.totalBytes)},{' '}
                {bytes(d.storage.freeBytes)} free
              </dd>
            </>
          )}
          <dt>Faults since start</dt>
          <dd>{d.faults.count}</dd>
        </dl>
      )}
    </section>
  );
}

interface Quarantined {
  id: number;
  reasonCode: string;
  reason: string;
  sopInstanceUid: string;
  studyUid: string;
  patientId: string;
  size: number;
  receivedAt: string;
  sourceAet: string;
}

function QuarantineView() {
  const q = usePaged<Quarantined>('/api/quarantine');
  return (
    <section aria-labelledby="q-title">
      <h2 id="q-title">Quarantine</h2>
      <p className="sub">
        Objects kept aside because they disagree with what the archive holds; nothing here is shown in the
        study list.
      </p>
      <Problem text={q.error} />
      <table className="admin">
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">From</th>
            <th scope="col">Reason</th>
            <th scope="col">Patient ID</th>
            <th scope="col">Study</th>
            <th scope="col">Instance</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {(q.data ?? []).map((r) => (
            <tr key={r.id} data-quarantine={r.id}>
              <td>{when(r.receivedAt)}</td>
              <td>{r.sourceAet}</td>
              <td>{r.reason}</td>
              <td>{r.patientId}</td>
              <td className="mono">{r.studyUid}</td>
              <td className="mono">{r.sopInstanceUid}</td>
              <td>{bytes(r.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {q.data?.length === 0 && <p className="sub">The quarantine is empty.</p>}
      {q.pager}
    </section>
  );
}

interface Damaged {
  id: number;
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  integrity: 'mismatch' | 'missing';
  verifiedAt: string;
}

/** Stored objects an integrity check found damaged (not served until restored), and a study checked now. */
function IntegrityView() {
  const list = usePaged<Damaged>('/api/storage/damaged');
  const [study, setStudy] = useState('');
  const [result, setResult] = useState('');
  const [error, setError] = useState('');
  const check = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    setResult('checking…');
    try {
      const r = await api<{ checked: number; damaged: { sopInstanceUid: string; detail: string }[] }>(
        'POST',
        `/api/studies/${encodeURIComponent(study.trim())}/verify`,
      );
      setResult(
        r.damaged.length
          ? `${r.checked} objects checked: ${r.damaged.length} damaged`
          : `${r.checked} objects checked: all whole`,
      );
      list.reload();
    } catch (err) {
      setResult('');
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <section aria-labelledby="integrity-title">
      <h2 id="integrity-title">Integrity</h2>
      <p className="sub">
        Every stored object is re-read and compared with the checksum recorded when it was stored, in the
        background and on demand. A damaged object is not served until it is restored from a backup and
        checked again.
      </p>
      <form className="inline" onSubmit={check}>
        <label>
          Study Instance UID{' '}
          <input
            name="study"
            value={study}
            onChange={(e) => setStudy(e.target.value)}
            required
            pattern="[0-9.]+"
            size={48}
          />
        </label>
        <button type="submit">Check now</button>
        <output data-testid="verify-result">{result}</output>
      </form>
      <Problem text={error || list.error} />
      <table className="admin">
        <thead>
          <tr>
            <th scope="col">Found</th>
            <th scope="col">Last checked</th>
            <th scope="col">Study</th>
            <th scope="col">Instance</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((r) => (
            <tr key={r.id} data-damaged={r.sopInstanceUid}>
              <td>{r.integrity === 'missing' ? 'file missing' : 'bytes differ'}</td>
              <td>{when(r.verifiedAt)}</td>
              <td className="mono">{r.studyUid}</td>
              <td className="mono">{r.sopInstanceUid}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.length === 0 && <p className="sub">No damaged object is known.</p>}
      {list.pager}
    </section>
  );
}

interface FhirEntry {
  resource: {
    id?: string;
    recorded: string;
    type?: { display?: string; code?: string };
    action?: string;
    outcome?: string;
    outcomeDesc?: string;
    agent?: { who?: { identifier?: { value?: string }; display?: string }; requestor?: boolean }[];
    entity?: { what?: { identifier?: { value?: string } }; type?: { display?: string } }[];
  };
}

const AUDIT_REPORTS = [
  'patient-access',
  'user-activity',
  'failed-logins',
  'exports',
  'deletions',
  'daily-transfers',
];

function AuditView() {
  const [f, setF] = useState({ from: '', to: '', user: '', patient: '', study: '', type: '' });
  const [query, setQuery] = useState('');
  const [offset, setOffset] = useState(0);
  const params = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(query)) params.set(k, v);
  params.set('limit', '50');
  params.set('offset', String(offset));
  const r = useApi<{ entry?: FhirEntry[] }>(`/api/audit?${params}`);
  const [report, setReport] = useState<
    { name: string; rows: Record<string, string | number>[] } | undefined
  >();
  const [reportError, setReportError] = useState('');
  const rows = r.data?.entry ?? [];
  const search = (e: React.FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) {
      if (!v) continue;
      q.set(k, k === 'from' || k === 'to' ? new Date(v).toISOString() : v);
    }
    setOffset(0);
    setQuery(q.toString());
  };
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      <form className="inline" onSubmit={search} aria-label="Filter the audit trail">
        <label>
          From{' '}
          <input
            type="datetime-local"
            value={f.from}
            onChange={(e) => setF({ ...f, from: e.target.value })}
          />
        </label>
        <label>
          To <input type="datetime-local" value={f.to} onChange={(e) => setF({ ...f, to: e.target.value })} />
        </label>
        <label>
          User{' '}
          <input
            value={f.user}
            onChange={(e) => setF({ ...f, user: e.target.value })}
            placeholder="login@site or AE"
          />
        </label>
        <label>
          Patient ID <input value={f.patient} onChange={(e) => setF({ ...f, patient: e.target.value })} />
        </label>
        <label>
          Study UID <input value={f.study} onChange={(e) => setF({ ...f, study: e.target.value })} />
        </label>
        <label>
          Event code{' '}
          <input value={f.type} onChange={(e) => setF({ ...f, type: e.target.value })} placeholder="110103" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Problem text={r.error} />
      <table className="admin" aria-label="Audit records">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Outcome</th>
            <th scope="col">Who</th>
            <th scope="col">About</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e, i) => (
            <tr key={e.resource.id ?? i} data-testid="audit-row">
              <td>{when(e.resource.recorded)}</td>
              <td>
                {e.resource.type?.display ?? e.resource.type?.code}{' '}
                {e.resource.action ? `(${e.resource.action})` : ''}
              </td>
              <td>
                {e.resource.outcome === '0' ? 'success' : `failure ${e.resource.outcome ?? ''}`}{' '}
                {e.resource.outcomeDesc ?? ''}
              </td>
              <td>
                {(e.resource.agent ?? [])
                  .filter((a) => a.requestor)
                  .map((a) => a.who?.identifier?.value ?? a.who?.display)
                  .join(', ')}
              </td>
              <td className="mono">
                {(e.resource.entity ?? [])
                  .map((x) => x.what?.identifier?.value)
                  .filter(Boolean)
                  .join(', ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav className="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset((o) => Math.max(0, o - 50))}>
          Newer
        </button>
        <button type="button" disabled={rows.length < 50} onClick={() => setOffset((o) => o + 50)}>
          Older
        </button>
      </nav>
      <h3>Reports</h3>
      <div className="inline">
        {AUDIT_REPORTS.map((name) => (
          <button
            key={name}
            type="button"
            onClick={async () => {
              try {
                const r = await api<{ report: string; rows: Record<string, string | number>[] }>(
                  'GET',
                  `/api/audit/reports/${name}?${query}`,
                );
                setReport({ name: r.report, rows: r.rows });
                setReportError('');
              } catch (e) {
                setReportError(e instanceof Error ? e.message : String(e));
              }
            }}
          >
            {name}
          </button>
        ))}
      </div>
      <Problem text={reportError} />
      {report && (
        <table className="admin" aria-label={`Report ${report.name}`}>
          <thead>
            <tr>
              {Object.keys(report.rows[0] ?? {}).map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.rows.map((row, i) => (
              <tr key={i}>
                {Object.keys(report.rows[0] ?? {}).map((c) => (
                  <td key={c}>{String(row[c] ?? '')}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Administration: each section for the permission it needs. */
export function Admin({ section, me }: { section: string; me: Me }) {
  const sections = allowedSections(me);
  if (!sections.length) return <p role="alert">Administration needs a role that manages Lantern.</p>;
  const current = sections.find((s) => s.id === section) ?? sections[0];
  return (
    <div className="admin-page">
      <nav aria-label="Administration" className="tabs">
        {sections.map((s) => (
          <a
            key={s.id}
            href={`/admin/${s.id}`}
            aria-current={s.id === current.id ? 'page' : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/admin/${s.id}`);
            }}
          >
            {s.label}
          </a>
        ))}
      </nav>
      {current.id === 'users' && <Users />}
      {current.id === 'peers' && <Peers />}
      {current.id === 'status' && <StatusView />}
      {current.id === 'quarantine' && <QuarantineView />}
      {current.id === 'integrity' && <IntegrityView />}
      {current.id === 'audit' && <AuditView />}
    </div>
  );
}
