import { type Types, utilities as csUtils } from '@cornerstonejs/core';
import { utilities as toolUtils } from '@cornerstonejs/tools';
import { type Ref, useEffect, useImperativeHandle, useRef, useState } from 'react';
import { calibrationOfDataset } from '../lib/calibration.js';
import { formatDate } from '../lib/dates.js';
import { dicomJson } from '../api.js';
import { type JsonDataset, num, nums, personName, str, strs } from '../lib/dicom-json.js';
import {
  fromImageOrientation,
  fromPatientOrientation,
  type Markers,
  markersFor,
  transformed,
} from '../lib/orientation.js';
import { rangeToWindow, type Window, windowToRange } from '../lib/voi.js';
import {
  ENGINE_ID,
  Events,
  renderingEngine,
  type StackImage,
  stackOf,
  toolGroup,
  ViewportType,
} from './cornerstone.js';
import type { SeriesEntry } from './Viewer.js';

/** What the viewer does to one viewport (keys, toolbar). */
export interface ViewportHandle {
  readonly viewportId: string;
  scroll(delta: number): void;
  scrollTo(index: number): void;
  applyWindow(w: Window): void;
  invert(): void;
  rotate(degrees: number): void;
  flip(axis: 'h' | 'v'): void;
  reset(): void;
  play(fps: number): void;
  stop(): void;
  currentInstance(): JsonDataset | undefined;
  currentImage(): StackImage | undefined;
  element(): HTMLDivElement | null;
}

interface Overlay {
  readonly index: number;
  readonly total: number;
  readonly window?: Window;
  readonly markers?: Markers;
  readonly zoom?: number;
  readonly calibration: string;
  readonly loading: boolean;
}

/** The images of a series, its instances' metadata read once (WADO-RS metadata). */
const seriesCache = new Map<string, Promise<StackImage[]>>();
/** The series whose metadata has arrived. */
const seriesKnown = new Set<string>();
export function imagesOf(entry: SeriesEntry): Promise<StackImage[]> {
  const uid = str(entry.series, 'SeriesInstanceUID');
  let p = seriesCache.get(uid);
  if (!p) {
    p = dicomJson(`/dicom-web/studies/${entry.studyUid}/series/${uid}/metadata`).then((m) => {
      seriesKnown.add(uid);
      return stackOf(entry.studyUid, m);
    });
    p.catch(() => seriesCache.delete(uid));
    seriesCache.set(uid, p);
  }
  return p;
}

/**
 * A series' first image (lowest Instance Number) alone, from that one instance's metadata: shown while the
 * whole series' metadata (megabytes for a long CT) is still on its way, so the first image does not wait
 * for it.
 */
const firstCache = new Map<string, Promise<StackImage | undefined>>();
export function firstImageOf(entry: SeriesEntry): Promise<StackImage | undefined> {
  const uid = str(entry.series, 'SeriesInstanceUID');
  let p = firstCache.get(uid);
  if (!p) {
    const series = `/dicom-web/studies/${entry.studyUid}/series/${uid}`;
    const q = new URLSearchParams({ orderby: 'InstanceNumber', limit: '1' });
    p = dicomJson(`${series}/instances`, q)
      .then(async ([first]) => {
        const sop = first && str(first, 'SOPInstanceUID');
        if (!sop) return undefined;
        return stackOf(entry.studyUid, await dicomJson(`${series}/instances/${sop}/metadata`))[0];
      })
      .catch((e: unknown) => {
        firstCache.delete(uid);
        throw e;
      });
    firstCache.set(uid, p);
  }
  return p;
}

function markersOf(vp: Types.IStackViewport, ds: JsonDataset | undefined): Markers | undefined {
  if (!ds) return undefined;
  const { rotation = 0 } = vp.getViewPresentation() as { rotation?: number };
  const { flipHorizontal = false, flipVertical = false } = vp.getCamera();
  const iop = fromImageOrientation(nums(ds, 'ImageOrientationPatient'));
  if (iop) {
    const t = transformed(iop.right, iop.down, rotation, flipHorizontal, flipVertical);
    return markersFor(t.right, t.down);
  }
  const po = fromPatientOrientation(strs(ds, 'PatientOrientation'));
  if (!po || rotation % 360 !== 0 || flipHorizontal || flipVertical) return po && !rotation ? po : undefined;
  return po;
}

function calibrationText(ds: JsonDataset | undefined): string {
  if (!ds) return '';
  const c = calibrationOfDataset(ds);
  return c.unit === 'px'
    ? 'Uncalibrated (px)'
    : `${c.columnSpacing.toFixed(3)} mm/px${c.caveat ? `, ${c.caveat}` : ''}`;
}

/** One stack viewport with its overlays (patient and study, image number, window, orientation, scale). */
export function ViewportPanel({
  index,
  entry,
  active,
  onActivate,
  onLoaded,
  keyImages,
  ref,
}: {
  index: number;
  entry: SeriesEntry | undefined;
  active: boolean;
  onActivate: () => void;
  /** Called when a series has been put in the viewport (its first image shown). */
  onLoaded?: () => void;
  /** The study's key images, by keyOf(). */
  keyImages?: ReadonlyMap<string, unknown>;
  ref: Ref<ViewportHandle | null>;
}) {
  const el = useRef<HTMLDivElement>(null);
  const viewportId = `vp-${index}`;
  const images = useRef<StackImage[]>([]);
  const [overlay, setOverlay] = useState<Overlay>({ index: 0, total: 0, calibration: '', loading: false });
  const [error, setError] = useState('');

  const vp = () => renderingEngine().getViewport(viewportId) as Types.IStackViewport | undefined;

  const refresh = () => {
    const v = vp();
    if (!v) return;
    const i = v.getCurrentImageIdIndex();
    const img = images.current[i];
    const props = v.getProperties();
    const range = props.voiRange;
    setOverlay({
      index: i,
      total: images.current.length,
      window: range ? rangeToWindow(range) : undefined,
      markers: markersOf(v, img?.instance),
      zoom: v.getZoom(),
      calibration: calibrationText(img?.instance),
      loading: false,
    });
  };

  // The viewport itself: enabled once, in the tool group, its events driving the overlays.
  useEffect(() => {
    const element = el.current!;
    const engine = renderingEngine();
    engine.enableElement({ viewportId, type: ViewportType.STACK, element });
    // Cornerstone takes the element out of the tab order (tabindex -1): keyboard users reach it again.
    element.tabIndex = 0;
    toolGroup().addViewport(viewportId, ENGINE_ID);
    const on = () => refresh();
    const evs = [Events.STACK_NEW_IMAGE, Events.VOI_MODIFIED, Events.CAMERA_MODIFIED, Events.IMAGE_RENDERED];
    for (const e of evs) element.addEventListener(e, on);
    const resize = new ResizeObserver(() => engine.resize(true, false));
    resize.observe(element);
    return () => {
      for (const e of evs) element.removeEventListener(e, on);
      resize.disconnect();
      toolGroup().removeViewports(ENGINE_ID, viewportId);
      engine.disableElement(viewportId);
    };
  }, [viewportId]);

  // The series shown: its first image as soon as that one instance's metadata is here, then the whole
  // stack (at the image on screen) once the series' metadata is, the rest fetched behind it.
  useEffect(() => {
    if (!entry) return;
    let live = true;
    let whole = false;
    // One setStack at a time, in order.
    let shown: Promise<unknown> = Promise.resolve();
    const show = (stack: StackImage[], at: () => number) => {
      shown = shown.then(async () => {
        const v = vp();
        if (!live || !v || !stack.length) return;
        images.current = stack;
        await v.setStack(
          stack.map((s) => s.imageId),
          at(),
        );
        if (!live) return;
        v.render();
        refresh();
        onLoaded?.();
      });
      return shown;
    };
    setError('');
    setOverlay((o) => ({ ...o, loading: true }));
    // The first image before the whole series' metadata is asked for: reading that (megabytes) on the
    // page's one thread would hold the first image back.
    const first = seriesKnown.has(str(entry.series, 'SeriesInstanceUID'))
      ? Promise.resolve()
      : firstImageOf(entry)
          .then((img) => (img && !whole ? show([img], () => 0) : undefined))
          .catch(() => undefined); // the whole series' metadata says what went wrong
    first
      .then(() => imagesOf(entry))
      .then(async (stack) => {
        whole = true;
        await show(stack, () => {
          // Stay on the image on screen (the first image may not sort first among equal numbers).
          const on = vp()?.getCurrentImageId();
          return Math.max(0, on ? stack.findIndex((s) => s.imageId === on) : 0);
        });
        if (live && el.current) toolUtils.stackPrefetch.enable(el.current);
      })
      .catch((e: unknown) => live && setError(`Could not load the series: ${String(e)}`));
    return () => {
      live = false;
    };
  }, [entry]);

  useImperativeHandle(
    ref,
    () => ({
      viewportId,
      scroll: (delta) => {
        const v = vp();
        if (v) void csUtils.scroll(v, { delta });
      },
      scrollTo: (i) => {
        const v = vp();
        if (v) void v.setImageIdIndex(Math.max(0, Math.min(i, images.current.length - 1)));
      },
      applyWindow: (w) => {
        const v = vp();
        if (!v) return;
        v.setProperties({ voiRange: windowToRange(w) });
        v.render();
      },
      invert: () => {
        const v = vp();
        if (!v) return;
        v.setProperties({ invert: !v.getProperties().invert });
        v.render();
      },
      rotate: (deg) => {
        const v = vp();
        if (!v) return;
        const { rotation = 0 } = v.getViewPresentation() as { rotation?: number };
        v.setViewPresentation({ rotation: (rotation + deg) % 360 });
        v.render();
      },
      flip: (axis) => {
        const v = vp();
        if (!v) return;
        const c = v.getCamera();
        v.setCamera(axis === 'h' ? { flipHorizontal: !c.flipHorizontal } : { flipVertical: !c.flipVertical });
        v.render();
      },
      reset: () => {
        const v = vp();
        if (!v) return;
        v.resetCamera();
        v.resetProperties();
        v.render();
      },
      play: (fps) => {
        if (el.current && images.current.length > 1)
          toolUtils.cine.playClip(el.current, { framesPerSecond: fps, loop: true });
      },
      stop: () => {
        if (el.current) toolUtils.cine.stopClip(el.current);
      },
      currentInstance: () => images.current[vp()?.getCurrentImageIdIndex() ?? 0]?.instance,
      currentImage: () => images.current[vp()?.getCurrentImageIdIndex() ?? 0],
      element: () => el.current,
    }),
    [viewportId],
  );

  const ds = images.current[overlay.index]?.instance;
  const m = overlay.markers;
  return (
    <div
      className={`viewport${active ? ' active' : ''}`}
      onPointerDownCapture={onActivate}
      onFocus={onActivate}
      data-viewport={index}
    >
      <div
        className="viewport-element"
        ref={el}
        onContextMenu={(e) => e.preventDefault()}
        tabIndex={0}
        role="img"
        aria-label={`Viewport ${index + 1}: ${entry ? str(entry.series, 'SeriesDescription') || 'series' : 'empty'}, image ${overlay.index + 1} of ${overlay.total}`}
      />
      {entry && (
        <div className="overlay" aria-hidden="true">
          <div className="tl">
            <div>{personName(entry.study, 'PatientName')}</div>
            <div>{str(entry.study, 'PatientID')}</div>
            <div>
              {formatDate(str(entry.study, 'PatientBirthDate'))} {str(entry.study, 'PatientSex')}
            </div>
          </div>
          <div className="tr">
            <div>
              {entry.prior ? 'PRIOR ' : ''}
              {formatDate(str(entry.study, 'StudyDate'))}
            </div>
            <div>{str(entry.study, 'StudyDescription')}</div>
            <div>
              #{str(entry.series, 'SeriesNumber')} {str(entry.series, 'SeriesDescription')}
            </div>
          </div>
          <div className="bl">
            <div data-testid="image-index">
              Im {overlay.total ? overlay.index + 1 : 0}/{overlay.total}
            </div>
            {overlay.window && (
              <div data-testid="window">
                W {Math.round(overlay.window.width)} L {Math.round(overlay.window.center)}
              </div>
            )}
            {ds && num(ds, 'SliceLocation') !== undefined && (
              <div>Loc {num(ds, 'SliceLocation')!.toFixed(1)}</div>
            )}
          </div>
          <div className="br">
            {ds &&
              keyImages?.has(`${str(ds, 'SOPInstanceUID')}:${images.current[overlay.index]?.frame ?? 1}`) && (
                <div data-testid="key-image" className="key">
                  ★ Key image
                </div>
              )}
            {overlay.zoom !== undefined && <div>Zoom {overlay.zoom.toFixed(2)}×</div>}
            <div data-testid="calibration">{overlay.calibration}</div>
          </div>
          {m && (
            <>
              <div className="mk top" data-testid="marker-top">
                {m.top}
              </div>
              <div className="mk bottom">{m.bottom}</div>
              <div className="mk left" data-testid="marker-left">
                {m.left}
              </div>
              <div className="mk right" data-testid="marker-right">
                {m.right}
              </div>
            </>
          )}
        </div>
      )}
      {entry && overlay.total > 1 && (
        <input
          className="scrollbar"
          type="range"
          min={0}
          max={overlay.total - 1}
          value={overlay.index}
          aria-label="Image in the stack"
          onChange={(e) => void vp()?.setImageIdIndex(Number(e.target.value))}
        />
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
