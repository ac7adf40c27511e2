import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, dicomJson } from '../api.js';
import {
  DATE_PRESETS,
  type DatePreset,
  formatDate,
  formatTime,
  inputRange,
  presetRange,
} from '../lib/dates.js';
import { type JsonDataset, num, personName, str, strs } from '../lib/dicom-json.js';
import {
  DEFAULT_SORT,
  EMPTY_SEARCH,
  nextSort,
  pageOf,
  type Sort,
  type SortKey,
  type StudySearch,
  studyQuery,
} from '../lib/study-query.js';
import { navigate } from '../router.js';

const MODALITIES = ['', 'CT', 'MR', 'CR', 'DX', 'MG', 'US', 'NM', 'PT', 'XA', 'RF', 'OT', 'SR', 'SEG'];
const PAGE_SIZES = [25, 50, 100];

/** The form as typed (dates as the preset or the two inputs). */
interface Form extends Omit<StudySearch, 'studyDate'> {
  readonly preset: DatePreset;
  readonly from: string;
  readonly to: string;
}

const EMPTY_FORM: Form = { ...EMPTY_SEARCH, preset: 'any', from: '', to: '' };

function toSearch(f: Form): StudySearch {
  const studyDate = f.preset !== 'any' ? presetRange(f.preset, new Date()) : inputRange(f.from, f.to);
  const { preset: _p, from: _f, to: _t, ...rest } = f;
  return { ...rest, studyDate };
}

/** The identifiers a radiographer checks, as one row shows them. */
function PatientId({ ds }: { ds: JsonDataset }) {
  const issuer = str(ds, 'IssuerOfPatientID');
  return (
    <>
      {str(ds, 'PatientID')}
      {issuer && <span className="issuer"> ({issuer})</span>}
    </>
  );
}

const COLUMNS: readonly { key: SortKey | undefined; label: string }[] = [
  { key: 'PatientName', label: 'Patient name' },
  { key: 'PatientID', label: 'Patient ID (issuer)' },
  { key: 'PatientBirthDate', label: 'Birth date' },
  { key: undefined, label: 'Sex' },
  { key: 'StudyDate', label: 'Study date' },
  { key: 'AccessionNumber', label: 'Accession' },
  { key: undefined, label: 'Modalities' },
  { key: 'StudyDescription', label: 'Description' },
  { key: undefined, label: 'Referring physician' },
  { key: 'NumberOfStudyRelatedInstances', label: 'Images' },
  { key: undefined, label: 'State' },
];

/** A study's state as GET /api/studies/state answers it (services/status.ts). */
interface StudyState {
  readonly studyUid: string;
  readonly receiving: boolean;
  readonly incomplete?: { readonly reason: string; readonly at: string };
  readonly quarantined: number;
}

/** How often the states are asked again while a study on the page is still receiving. */
const RECEIVING_POLL_MS = 10_000;

/**
 * The states of the studies on the page: asked once the rows are shown, and again while one of them is
 * still receiving (so "receiving" turns into its outcome without reloading the list).
 */
function useStudyStates(uids: readonly string[]): ReadonlyMap<string, StudyState> | undefined {
  const [states, setStates] = useState<ReadonlyMap<string, StudyState> | undefined>();
  const key = uids.join(',');
  useEffect(() => {
    if (!key) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = () => {
      const q = new URLSearchParams({ study: key });
      api<StudyState[]>('GET', `/api/studies/state?${q}`)
        .then((list) => {
          if (!live) return;
          setStates(new Map(list.map((s) => [s.studyUid, s])));
          if (list.some((s) => s.receiving)) timer = setTimeout(ask, RECEIVING_POLL_MS);
        })
        .catch(() => live && setStates(new Map()));
    };
    ask();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [key]);
  return states;
}

/** What a radiographer checks after a transfer: still arriving, arrived with failures, objects held back. */
function StateCell({ state }: { state: StudyState | undefined }) {
  if (!state) return <td className="state" />;
  const flags: React.ReactNode[] = [];
  if (state.receiving)
    flags.push(
      <span
        key="r"
        className="badge receiving"
        title="an instance arrived moments ago: the transfer may go on"
      >
        Receiving
      </span>,
    );
  if (state.incomplete)
    flags.push(
      <span
        key="i"
        className="badge incomplete"
        title={`${state.incomplete.reason} (${new Date(state.incomplete.at).toLocaleString()}): send the study again`}
      >
        Incomplete transfer
        <span className="visually-hidden">: {state.incomplete.reason}</span>
      </span>,
    );
  if (state.quarantined)
    flags.push(
      <span key="q" className="badge quarantined" title="objects held back in quarantine: see Administration">
        {state.quarantined} quarantined
      </span>,
    );
  return (
    <td className="state" data-state={flags.length ? 'attention' : 'ok'}>
      {flags.length ? flags : <span className="sub">Received</span>}
    </td>
  );
}

/** Whether OHIF is installed (`lantern viewer install ohif`): the list then offers it beside our viewer. */
let ohif: Promise<boolean> | undefined;
function useOhif(): boolean {
  const [on, setOn] = useState(false);
  useEffect(() => {
    ohif ??= api<{ ohif: boolean }>('GET', '/api/viewers')
      .then((v) => v.ohif)
      .catch(() => false);
    let live = true;
    void ohif.then((v) => live && setOn(v));
    return () => {
      live = false;
    };
  }, []);
  return on;
}

function StudyRows({
  rows,
  selected,
  onSelect,
}: {
  rows: readonly JsonDataset[];
  selected?: string;
  onSelect?: (ds: JsonDataset) => void;
}) {
  const withOhif = useOhif();
  const states = useStudyStates(rows.map((ds) => str(ds, 'StudyInstanceUID')));
  return (
    <>
      {rows.map((ds) => {
        const uid = str(ds, 'StudyInstanceUID');
        const open = () => navigate(`/viewer/${uid}`);
        return (
          <tr
            key={uid}
            className={uid === selected ? 'selected' : undefined}
            aria-selected={uid === selected}
            tabIndex={0}
            onClick={() => onSelect?.(ds)}
            onDoubleClick={open}
            onKeyDown={(e) => {
              if (e.key === 'Enter') open();
              if (e.key === ' ') {
                e.preventDefault();
                onSelect?.(ds);
              }
            }}
            data-study={uid}
          >
            <td className="name">{personName(ds, 'PatientName')}</td>
            <td>
              <PatientId ds={ds} />
            </td>
            <td>{formatDate(str(ds, 'PatientBirthDate'))}</td>
            <td>{str(ds, 'PatientSex')}</td>
            <td>
              {formatDate(str(ds, 'StudyDate'))} {formatTime(str(ds, 'StudyTime'))}
            </td>
            <td>{str(ds, 'AccessionNumber')}</td>
            <td>{strs(ds, 'ModalitiesInStudy').join(', ')}</td>
            <td>{str(ds, 'StudyDescription')}</td>
            <td>{personName(ds, 'ReferringPhysicianName')}</td>
            <td className="num">
              {num(ds, 'NumberOfStudyRelatedInstances') ?? ''}
              <span className="sub"> / {num(ds, 'NumberOfStudyRelatedSeries') ?? ''} series</span>
            </td>
            <StateCell state={states?.get(uid)} />
            <td>
              <a
                href={`/viewer/${uid}`}
                onClick={(e) => {
                  e.preventDefault();
                  open();
                }}
              >
                Open
              </a>
              {withOhif && (
                <>
                  {' '}
                  <a href={`/ohif/viewer?StudyInstanceUIDs=${uid}`} data-testid="open-ohif">
                    OHIF
                  </a>
                </>
              )}
            </td>
          </tr>
        );
      })}
    </>
  );
}

/** The patient's other studies (same Patient ID and issuer), newest first. */
function PatientStudies({ patient }: { patient: JsonDataset }) {
  const [rows, setRows] = useState<readonly JsonDataset[] | undefined>();
  const id = str(patient, 'PatientID');
  const issuer = str(patient, 'IssuerOfPatientID');
  useEffect(() => {
    let live = true;
    const q = studyQuery(EMPTY_SEARCH, DEFAULT_SORT, 0, 100);
    q.set('PatientID', id);
    if (issuer) q.set('IssuerOfPatientID', issuer);
    dicomJson('/dicom-web/studies', q)
      .then((r) => live && setRows(r.slice(0, 100)))
      .catch(() => live && setRows([]));
    return () => {
      live = false;
    };
  }, [id, issuer]);
  return (
    <section className="patient-studies" aria-labelledby="ps-title">
      <h2 id="ps-title">
        Studies of {personName(patient, 'PatientName')} <span className="sub">({id})</span>
      </h2>
      {!rows ? (
        <p>Loading…</p>
      ) : (
        <table className="studies compact">
          <tbody>
            <StudyRows rows={rows} selected={str(patient, 'StudyInstanceUID')} />
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The study list: search, sort, pages, and the patient's other studies. */
export function StudyList() {
  const [form, setForm] = useState<Form>(EMPTY_FORM);
  const [search, setSearch] = useState<StudySearch>(() => toSearch(EMPTY_FORM));
  const [sort, setSort] = useState<Sort>(DEFAULT_SORT);
  const [page, setPage] = useState(0);
  const [size, setSize] = useState(PAGE_SIZES[0]);
  const [result, setResult] = useState<{ rows: readonly JsonDataset[]; more: boolean } | undefined>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<JsonDataset | undefined>();
  const [elapsed, setElapsed] = useState<number | undefined>();
  // Pages shown so far (the benchmark waits on it).
  const [loaded, setLoaded] = useState(0);
  const seq = useRef(0);

  useEffect(() => {
    const mine = ++seq.current;
    const t0 = performance.now();
    setBusy(true);
    dicomJson('/dicom-web/studies', studyQuery(search, sort, page * size, size))
      .then((rows) => {
        if (mine !== seq.current) return;
        setResult(pageOf(rows, size));
        setError('');
        setElapsed(performance.now() - t0);
        setLoaded((n) => n + 1);
      })
      .catch((e: unknown) => {
        if (mine !== seq.current) return;
        setError(e instanceof ApiError ? e.message : String(e));
        setResult(undefined);
      })
      .finally(() => mine === seq.current && setBusy(false));
  }, [search, sort, page, size]);

  const set =
    <K extends keyof Form>(k: K) =>
    (v: Form[K]) =>
      setForm((f) => ({ ...f, [k]: v }));
  const submit = useCallback(
    (e: React.FormEvent) => {
      e.preventDefault();
      setPage(0);
      setSelected(undefined);
      setSearch(toSearch(form));
    },
    [form],
  );
  const clear = () => {
    setForm(EMPTY_FORM);
    setPage(0);
    setSearch(toSearch(EMPTY_FORM));
  };

  return (
    <div className="study-list">
      <form className="search" onSubmit={submit} aria-label="Search studies" role="search">
        <label>
          Patient name
          <input
            name="patientName"
            value={form.patientName}
            onChange={(e) => set('patientName')(e.target.value)}
            placeholder="Doe^J* or Doe, John"
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={form.fuzzy} onChange={(e) => set('fuzzy')(e.target.checked)} />
          Sounds like
        </label>
        <label>
          Patient ID
          <input name="patientId" value={form.patientId} onChange={(e) => set('patientId')(e.target.value)} />
        </label>
        <label>
          Accession
          <input
            name="accessionNumber"
            value={form.accessionNumber}
            onChange={(e) => set('accessionNumber')(e.target.value)}
          />
        </label>
        <label>
          Study date
          <select
            name="preset"
            value={form.preset}
            onChange={(e) => set('preset')(e.target.value as DatePreset)}
          >
            {DATE_PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        {form.preset === 'any' && (
          <>
            <label>
              From
              <input
                type="date"
                name="from"
                value={form.from}
                onChange={(e) => set('from')(e.target.value)}
              />
            </label>
            <label>
              To
              <input type="date" name="to" value={form.to} onChange={(e) => set('to')(e.target.value)} />
            </label>
          </>
        )}
        <label>
          Modality
          <select name="modality" value={form.modality} onChange={(e) => set('modality')(e.target.value)}>
            {MODALITIES.map((m) => (
              <option key={m} value={m}>
                {m || 'Any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Referring physician
          <input
            name="referringPhysician"
            value={form.referringPhysician}
            onChange={(e) => set('referringPhysician')(e.target.value)}
          />
        </label>
        <label>
          Description
          <input
            name="description"
            value={form.description}
            onChange={(e) => set('description')(e.target.value)}
          />
        </label>
        <div className="actions">
          <button type="submit">Search</button>
          <button type="button" onClick={clear}>
            Clear
          </button>
        </div>
      </form>

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="results" aria-busy={busy} data-loaded={loaded}>
        <table className="studies" aria-label="Studies">
          <thead>
            <tr>
              {COLUMNS.map((c) => {
                const active = c.key !== undefined && sort.key === c.key;
                return (
                  <th
                    key={c.label}
                    scope="col"
                    aria-sort={active ? (sort.descending ? 'descending' : 'ascending') : undefined}
                  >
                    {c.key ? (
                      <button
                        type="button"
                        className="sort"
                        onClick={() => {
                          setPage(0);
                          setSort((s) => nextSort(s, c.key!));
                        }}
                      >
                        {c.label}
                        {active ? (sort.descending ? ' ▼' : ' ▲') : ''}
                      </button>
                    ) : (
                      c.label
                    )}
                  </th>
                );
              })}
              <th scope="col">
                <span className="visually-hidden">Open</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {result && (
              <StudyRows
                rows={result.rows}
                selected={selected && str(selected, 'StudyInstanceUID')}
                onSelect={setSelected}
              />
            )}
          </tbody>
        </table>
        {result && result.rows.length === 0 && <p className="empty">No studies match.</p>}
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={page === 0 || busy} onClick={() => setPage((p) => p - 1)}>
            Previous
          </button>
          <span data-testid="page">
            Page {page + 1}
            {result ? ` · ${page * size + 1}–${page * size + result.rows.length}` : ''}
          </span>
          <button type="button" disabled={!result?.more || busy} onClick={() => setPage((p) => p + 1)}>
            Next
          </button>
          <label>
            Per page
            <select
              value={size}
              onChange={(e) => {
                setPage(0);
                setSize(Number(e.target.value));
              }}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
          {elapsed !== undefined && (
            <span className="sub" data-testid="elapsed">
              {Math.round(elapsed)} ms
            </span>
          )}
        </nav>
      </div>
      {selected && <PatientStudies patient={selected} />}
    </div>
  );
}
