import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, dicomJson } from '../api.js';
import { formatDate } from '../lib/dates.js';
import { type JsonDataset, num, personName, str } from '../lib/dicom-json.js';
import { DEFAULT_SORT, EMPTY_SEARCH, studyQuery } from '../lib/study-query.js';
import { initCornerstone, type LeftTool, selectLeftTool, toolGroup } from './cornerstone.js';
import { Measurements } from './Measurements.js';
import { TagBrowser } from './TagBrowser.js';
import { firstImageOf, imagesOf, type ViewportHandle, ViewportPanel } from './ViewportPanel.js';
import { presetsFor } from '../lib/voi.js';
import { navigate } from '../router.js';
import { syncViewports } from './sync.js';
import { type KeyImage, keyOf, loadKeyImages, saveKeyImages } from './report.js';

/** A series as the panel lists it, with the study it belongs to. */
export interface SeriesEntry {
  readonly studyUid: string;
  readonly study: JsonDataset;
  readonly series: JsonDataset;
  readonly prior: boolean;
}

const SERIES_KEYS = [
  'SeriesInstanceUID',
  'SeriesNumber',
  'SeriesDescription',
  'Modality',
  'NumberOfSeriesRelatedInstances',
];

async function seriesOf(studyUid: string): Promise<JsonDataset[]> {
  const q = new URLSearchParams();
  for (const k of SERIES_KEYS) q.append('includefield', k);
  const rows = await dicomJson(`/dicom-web/studies/${studyUid}/series`, q);
  return rows.sort((a, b) => (num(a, 'SeriesNumber') ?? 0) - (num(b, 'SeriesNumber') ?? 0));
}

async function studyOf(studyUid: string): Promise<JsonDataset | undefined> {
  const q = studyQuery(EMPTY_SEARCH, DEFAULT_SORT, 0, 1);
  q.set('StudyInstanceUID', studyUid);
  return (await dicomJson('/dicom-web/studies', q))[0];
}

const LAYOUTS = { '1x1': [1, 1], '1x2': [1, 2], '2x2': [2, 2] } as const;
type Layout = keyof typeof LAYOUTS;

const TOOL_BUTTONS: readonly { id: LeftTool; label: string; key: string }[] = [
  { id: 'wl', label: 'Window', key: 'w' },
  { id: 'pan', label: 'Pan', key: 'p' },
  { id: 'zoom', label: 'Zoom', key: 'z' },
  { id: 'length', label: 'Length', key: 'l' },
  { id: 'angle', label: 'Angle', key: 'a' },
  { id: 'ellipse', label: 'Ellipse', key: 'e' },
  { id: 'rectangle', label: 'Rectangle', key: 'r' },
];

/** The diagnostic viewer of one study (and a prior of the same patient beside it). */
export function Viewer({ studyUid, author }: { studyUid: string; author: string }) {
  const [study, setStudy] = useState<JsonDataset | undefined>();
  const [entries, setEntries] = useState<readonly SeriesEntry[]>([]);
  const [priors, setPriors] = useState<readonly JsonDataset[]>([]);
  const [priorUid, setPriorUid] = useState('');
  const [error, setError] = useState('');
  const [layout, setLayout] = useState<Layout>('1x1');
  const [assigned, setAssigned] = useState<(SeriesEntry | undefined)[]>([]);
  const [active, setActive] = useState(0);
  const [tool, setTool] = useState<LeftTool>('wl');
  const [sync, setSync] = useState(false);
  const [fps, setFps] = useState(10);
  const [playing, setPlaying] = useState(false);
  const [tags, setTags] = useState<JsonDataset | undefined>();
  const [ready, setReady] = useState(false);
  // Counts series put into viewports: linking waits for the stacks to be there.
  const [loads, setLoads] = useState(0);
  const handles = useRef<(ViewportHandle | null)[]>([]);
  // The metadata of every image series of the study is known (stored reports are put back on them).
  const [imagesKnown, setImagesKnown] = useState(false);
  // Key images: those of the stored Key Object Selection documents and those flagged now.
  const [keys, setKeys] = useState<ReadonlyMap<string, KeyImage>>(new Map());
  const [keyStatus, setKeyStatus] = useState('');
  useEffect(() => {
    if (!imagesKnown) return;
    let live = true;
    loadKeyImages(studyUid)
      .then((list) => live && setKeys(new Map(list.map((k) => [keyOf(k), k]))))
      .catch((e: unknown) => live && setKeyStatus(`Stored key images could not be read: ${String(e)}`));
    return () => {
      live = false;
    };
  }, [studyUid, imagesKnown]);
  const toggleKey = () => {
    const img = handles.current[active]?.currentImage();
    if (!img) return;
    const k: KeyImage = {
      seriesUid: str(img.instance, 'SeriesInstanceUID'),
      sopClassUid: str(img.instance, 'SOPClassUID'),
      sopInstanceUid: str(img.instance, 'SOPInstanceUID'),
      frame: img.frame,
    };
    setKeys((m) => {
      const next = new Map(m);
      if (next.has(keyOf(k))) next.delete(keyOf(k));
      else next.set(keyOf(k), k);
      return next;
    });
  };
  const saveKeys = async () => {
    try {
      const sample = handles.current[active]?.currentInstance();
      if (!sample) return;
      const uid = await saveKeyImages(
        studyUid,
        [...keys.values()].filter((k) => k.sopInstanceUid),
        sample,
        author,
      );
      setKeyStatus(`Key images saved (document ${uid})`);
    } catch (e) {
      setKeyStatus(`Not saved: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  // The study, its series, and the patient's other studies (for comparison).
  useEffect(() => {
    let live = true;
    setError('');
    (async () => {
      // The study and its series asked at once, and the first image series' first image right after:
      // the requests are out before Cornerstone's start-up takes the page's thread.
      const [s, series] = await Promise.all([studyOf(studyUid), seriesOf(studyUid)]);
      if (!live) return;
      if (!s) {
        setError('This study is not in the archive (or not visible to you).');
        return;
      }
      setStudy(s);
      const list = series.map((x) => ({ studyUid, study: s, series: x, prior: false }));
      const shownFirst = list.find((e) => str(e.series, 'Modality') !== 'SR');
      if (shownFirst) void firstImageOf(shownFirst).catch(() => undefined);
      setEntries(list);
      setAssigned([list.find((e) => str(e.series, 'Modality') !== 'SR') ?? list[0]]);
      const q = studyQuery(EMPTY_SEARCH, DEFAULT_SORT, 0, 50);
      q.set('PatientID', str(s, 'PatientID'));
      const issuer = str(s, 'IssuerOfPatientID');
      if (issuer) q.set('IssuerOfPatientID', issuer);
      const others = (await dicomJson('/dicom-web/studies', q)).filter(
        (o) => str(o, 'StudyInstanceUID') !== studyUid,
      );
      if (live) setPriors(others);
    })().catch((e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [studyUid]);

  // Cornerstone started after the study's requests are out (its start-up holds the page's thread).
  useEffect(() => {
    let live = true;
    initCornerstone()
      .then(() => {
        toolGroup();
        if (live) setReady(true);
      })
      .catch((e: unknown) => live && setError(`The viewer could not start: ${String(e)}`));
    return () => {
      live = false;
    };
  }, []);

  // Once the first image is on screen: the metadata of every image series of the study (for the stored
  // reports and key images), not before, so that it does not compete with the first image.
  const shownOnce = loads > 0;
  useEffect(() => {
    if (!shownOnce) return;
    let live = true;
    const current = entries.filter((e) => !e.prior && str(e.series, 'Modality') !== 'SR');
    void Promise.all(current.map((e) => imagesOf(e)))
      .then(() => live && setImagesKnown(true))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [shownOnce, entries]);

  // A prior chosen: its series join the panel and its first goes beside the current one.
  useEffect(() => {
    if (!priorUid) return;
    let live = true;
    (async () => {
      const p = priors.find((x) => str(x, 'StudyInstanceUID') === priorUid);
      if (!p) return;
      const series = await seriesOf(priorUid);
      if (!live) return;
      const list = series.map((x) => ({ studyUid: priorUid, study: p, series: x, prior: true }));
      setEntries((e) => [...e.filter((x) => !x.prior), ...list]);
      setLayout((l) => (l === '1x1' ? '1x2' : l));
      setAssigned((a) => [a[0], list[0]]);
      setSync(true);
    })().catch((e: unknown) => live && setError(String(e)));
    return () => {
      live = false;
    };
  }, [priorUid, priors]);

  const [rows, cols] = LAYOUTS[layout];
  const count = rows * cols;
  useEffect(() => {
    if (active >= count) setActive(0);
  }, [count, active]);

  useEffect(() => {
    if (ready) selectLeftTool(tool);
  }, [tool, ready]);

  useEffect(() => {
    if (!ready) return;
    const ids = handles.current.slice(0, count).flatMap((h) => (h ? [h.viewportId] : []));
    return syncViewports(sync ? ids : []);
  }, [sync, ready, count, loads]);

  const activeHandle = () => handles.current[active] ?? undefined;
  const modality = str(assigned[active]?.series, 'Modality');
  const presets = presetsFor(modality);

  useEffect(() => {
    const h = activeHandle();
    if (!h) return;
    if (playing) h.play(fps);
    else h.stop();
    return () => h.stop();
  }, [playing, fps, active]);

  const onKey = useCallback(
    (e: React.KeyboardEvent) => {
      if ((e.target as HTMLElement).closest('input, select, textarea')) return;
      const h = handles.current[active];
      if (!h) return;
      const k = e.key;
      if (k === 'ArrowDown' || k === 'PageDown' || k === 'ArrowRight') h.scroll(k === 'PageDown' ? 10 : 1);
      else if (k === 'ArrowUp' || k === 'PageUp' || k === 'ArrowLeft') h.scroll(k === 'PageUp' ? -10 : -1);
      else if (k === 'Home') h.scrollTo(0);
      else if (k === 'End') h.scrollTo(Number.MAX_SAFE_INTEGER);
      else if (k === 'i') h.invert();
      else if (k === 'k') toggleKey();
      else if (k === 'Escape') h.reset();
      else {
        const preset = presets.find((p) => p.key === k);
        const t = TOOL_BUTTONS.find((b) => b.key === k);
        if (preset) h.applyWindow(preset);
        else if (t) setTool(t.id);
        else return;
      }
      e.preventDefault();
    },
    [active, presets],
  );

  const load = (entry: SeriesEntry) => {
    setAssigned((a) => {
      const next = [...a];
      next[active] = entry;
      return next;
    });
  };

  const banner = useMemo(
    () =>
      study && (
        <div className="banner" data-testid="banner">
          <strong>{personName(study, 'PatientName')}</strong>
          <span>ID {str(study, 'PatientID')}</span>
          <span>born {formatDate(str(study, 'PatientBirthDate'))}</span>
          <span>{str(study, 'PatientSex')}</span>
          <span>
            {formatDate(str(study, 'StudyDate'))} {str(study, 'StudyDescription')}
          </span>
          <span>Acc {str(study, 'AccessionNumber')}</span>
        </div>
      ),
    [study],
  );

  return (
    <div className="viewer" onKeyDown={onKey} tabIndex={-1}>
      <div className="viewer-bar">
        <button type="button" onClick={() => navigate('/')}>
          ← Studies
        </button>
        {banner}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="toolbar" role="toolbar" aria-label="Viewer tools">
        <div role="group" aria-label="Left button">
          {TOOL_BUTTONS.map((b) => (
            <button
              key={b.id}
              type="button"
              aria-pressed={tool === b.id}
              onClick={() => setTool(b.id)}
              title={`${b.label} (${b.key})`}
              data-tool={b.id}
            >
              {b.label}
            </button>
          ))}
        </div>
        <div role="group" aria-label="Image">
          <button type="button" onClick={() => activeHandle()?.rotate(90)} title="Rotate 90° clockwise">
            Rotate
          </button>
          <button type="button" onClick={() => activeHandle()?.flip('h')}>
            Flip H
          </button>
          <button type="button" onClick={() => activeHandle()?.flip('v')}>
            Flip V
          </button>
          <button type="button" onClick={() => activeHandle()?.invert()} title="Invert (i)">
            Invert
          </button>
          <button type="button" onClick={() => activeHandle()?.reset()} title="Reset (Esc)">
            Reset
          </button>
        </div>
        {presets.length > 0 && (
          <label>
            Window preset
            <select
              data-testid="preset"
              value=""
              onChange={(e) => {
                const p = presets.find((x) => x.name === e.target.value);
                if (p) activeHandle()?.applyWindow(p);
              }}
            >
              <option value="">Choose…</option>
              {presets.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name} ({p.center}/{p.width}) [{p.key}]
                </option>
              ))}
            </select>
          </label>
        )}
        <div role="group" aria-label="Cine">
          <button type="button" aria-pressed={playing} onClick={() => setPlaying((p) => !p)}>
            {playing ? 'Stop' : 'Cine'}
          </button>
          <label>
            fps
            <input
              type="number"
              min={1}
              max={60}
              value={fps}
              onChange={(e) => setFps(Math.min(60, Math.max(1, Number(e.target.value) || 1)))}
              className="narrow"
            />
          </label>
        </div>
        <label>
          Layout
          <select value={layout} onChange={(e) => setLayout(e.target.value as Layout)} data-testid="layout">
            {Object.keys(LAYOUTS).map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={sync} onChange={(e) => setSync(e.target.checked)} />
          Sync scrolling
        </label>
        {priors.length > 0 && (
          <label>
            Compare with
            <select value={priorUid} onChange={(e) => setPriorUid(e.target.value)} data-testid="prior">
              <option value="">(no prior)</option>
              {priors.map((p) => (
                <option key={str(p, 'StudyInstanceUID')} value={str(p, 'StudyInstanceUID')}>
                  {formatDate(str(p, 'StudyDate'))} {str(p, 'StudyDescription')}
                </option>
              ))}
            </select>
          </label>
        )}
        <div role="group" aria-label="Key images">
          <button
            type="button"
            onClick={toggleKey}
            title="Flag or unflag the image shown (k)"
            data-testid="key-toggle"
          >
            Key image
          </button>
          <button type="button" onClick={saveKeys} disabled={keys.size === 0} data-testid="key-save">
            Save key images ({keys.size})
          </button>
          <span className="sub" role="status" data-testid="key-status">
            {keyStatus}
          </span>
        </div>
        <button
          type="button"
          onClick={() => setTags(activeHandle()?.currentInstance())}
          data-testid="tags-button"
        >
          Tags
        </button>
      </div>
      <div className="viewer-body">
        <aside className="series-panel" aria-label="Series">
          {entries.map((e) => {
            const uid = str(e.series, 'SeriesInstanceUID');
            const shown = assigned.some((a) => a && str(a.series, 'SeriesInstanceUID') === uid);
            return (
              <button
                key={uid}
                type="button"
                className={`series${shown ? ' shown' : ''}${e.prior ? ' prior' : ''}`}
                onClick={() => load(e)}
                aria-pressed={shown}
                data-series={uid}
              >
                {str(e.series, 'Modality') !== 'SR' && (
                  <img
                    src={`/dicom-web/studies/${e.studyUid}/series/${uid}/thumbnail`}
                    alt=""
                    width={96}
                    height={96}
                    loading="lazy"
                  />
                )}
                <span>
                  {e.prior && <em>Prior {formatDate(str(e.study, 'StudyDate'))} · </em>}#
                  {str(e.series, 'SeriesNumber')} {str(e.series, 'Modality')}
                  <br />
                  {str(e.series, 'SeriesDescription')}
                  <br />
                  <span className="sub">{num(e.series, 'NumberOfSeriesRelatedInstances')} images</span>
                </span>
              </button>
            );
          })}
        </aside>
        <div className="grid" style={{ ['--rows' as string]: rows, ['--cols' as string]: cols }}>
          {ready &&
            Array.from({ length: count }, (_, i) => (
              <ViewportPanel
                key={i}
                index={i}
                ref={(h) => {
                  handles.current[i] = h;
                }}
                entry={assigned[i]}
                active={i === active}
                onActivate={() => setActive(i)}
                onLoaded={() => setLoads((n) => n + 1)}
                keyImages={keys}
              />
            ))}
        </div>
        <Measurements studyUid={studyUid} handles={handles} author={author} loaded={imagesKnown} />
      </div>
      {tags && <TagBrowser instance={tags} onClose={() => setTags(undefined)} />}
    </div>
  );
}
