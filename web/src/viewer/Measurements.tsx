import { eventTarget, utilities as csUtils } from '@cornerstonejs/core';
import { annotation, Enums as ToolEnums } from '@cornerstonejs/tools';
import { type RefObject, useEffect, useState } from 'react';
import { triggerAnnotationRenderForViewportIds } from '@cornerstonejs/tools/utilities';
import {
  angleOf,
  areaOf,
  type Calibration,
  calibrationOfDataset,
  formatLength,
  type ImagePoint,
  lengthOf,
} from '../lib/calibration.js';
import { instanceOfImage, MEASUREMENT_TOOLS, renderingEngine, setMeasurementText } from './cornerstone.js';
import { loadMeasurements, saveMeasurements } from './report.js';
import type { ViewportHandle } from './ViewportPanel.js';

/** One measurement as the list shows it. */
export interface MeasurementRow {
  readonly uid: string;
  readonly tool: string;
  readonly imageId: string;
  readonly label: string;
  readonly value: string;
  /** The number in the calibration's unit (mm, mm², degrees, px). */
  readonly amount: number;
  readonly unit: string;
  readonly stats?: string;
}

export function calibrationOfImage(imageId: string): Calibration {
  return calibrationOfDataset(instanceOfImage.get(imageId)?.instance);
}

type Ann = ReturnType<typeof annotation.state.getAllAnnotations>[number];

/** A measurement's value, computed by our own calibration rules from its points in image pixels. */
export function measure(a: Ann): MeasurementRow | undefined {
  const tool = a.metadata?.toolName ?? '';
  const imageId = a.metadata?.referencedImageId;
  if (!MEASUREMENT_TOOLS.has(tool) || !imageId || !a.annotationUID) return undefined;
  const points = (a.data.handles?.points ?? []) as readonly [number, number, number][];
  const px: ImagePoint[] = points.map((p) => {
    const [x, y] = csUtils.worldToImageCoords(imageId, p as [number, number, number]) ?? [0, 0];
    return { x, y };
  });
  const c = calibrationOfImage(imageId);
  const stats = Object.values((a.data.cachedStats ?? {}) as Record<string, Record<string, unknown>>)[0];
  const modalityUnit = String(stats?.modalityUnit ?? '');
  const roi =
    stats && typeof stats.mean === 'number' && typeof stats.stdDev === 'number'
      ? `mean ${stats.mean.toFixed(1)} SD ${stats.stdDev.toFixed(1)}${modalityUnit ? ` ${modalityUnit}` : ''}`
      : undefined;
  const base = { uid: a.annotationUID, tool, imageId, label: String(a.data.label ?? '') };
  switch (tool) {
    case 'Length': {
      if (px.length < 2) return undefined;
      const v = lengthOf(c, px[0], px[1]);
      return { ...base, amount: v, unit: c.unit, value: formatLength(c, v) };
    }
    case 'Angle': {
      if (px.length < 3) return undefined;
      const v = angleOf(c, px[0], px[1], px[2]);
      return { ...base, amount: v, unit: 'deg', value: `${v.toFixed(1)}°` };
    }
    case 'EllipticalROI':
    case 'RectangleROI': {
      if (px.length < 2) return undefined;
      const xs = px.map((p) => p.x);
      const ys = px.map((p) => p.y);
      const a0 = { x: Math.min(...xs), y: Math.min(...ys) };
      const a1 = { x: Math.max(...xs), y: Math.max(...ys) };
      const v = areaOf(c, tool === 'RectangleROI' ? 'rectangle' : 'ellipse', a0, a1);
      return { ...base, amount: v, unit: `${c.unit}2`, value: formatLength(c, v, true), stats: roi };
    }
  }
  return undefined;
}

// The tools' labels on the image: the value and, for regions, the statistics, as the list shows them.
setMeasurementText((toolName, data, imageId) => {
  const row = measure({
    annotationUID: 'label',
    metadata: { toolName, referencedImageId: imageId },
    data,
  } as unknown as Ann);
  return row ? [row.value, ...(row.stats ? [row.stats] : [])] : undefined;
});

/** Every measurement drawn on this study's images, kept in step with the tools' events. */
export function useMeasurements(studyUid: string, version = 0): MeasurementRow[] {
  const [rows, setRows] = useState<MeasurementRow[]>([]);
  useEffect(() => {
    const update = () =>
      setRows(
        annotation.state
          .getAllAnnotations()
          .filter((a) => a.metadata?.referencedImageId?.includes(`/studies/${studyUid}/`))
          .flatMap((a) => measure(a) ?? []),
      );
    const evs = [
      ToolEnums.Events.ANNOTATION_COMPLETED,
      ToolEnums.Events.ANNOTATION_MODIFIED,
      ToolEnums.Events.ANNOTATION_REMOVED,
      ToolEnums.Events.ANNOTATION_ADDED,
    ];
    for (const e of evs) eventTarget.addEventListener(e, update);
    update();
    return () => {
      for (const e of evs) eventTarget.removeEventListener(e, update);
    };
  }, [studyUid, version]);
  return rows;
}

/** The measurement list beside the viewports, saved to and read back from the archive. */
export function Measurements({
  studyUid,
  author,
  loaded,
}: {
  studyUid: string;
  author: string;
  /** Set once the study's images are known to the viewer (the stored reports refer to them). */
  loaded: boolean;
  handles: RefObject<(ViewportHandle | null)[]>;
}) {
  // Bumped when stored measurements have been put back (adding them raises no event of the tools).
  const [version, setVersion] = useState(0);
  const rows = useMeasurements(studyUid, version);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!loaded) return;
    let live = true;
    loadMeasurements(studyUid)
      .then((n) => {
        if (!live) return;
        if (n) setStatus(`${n} stored measurement(s) shown`);
        setVersion((v) => v + 1);
        triggerAnnotationRenderForViewportIds?.(
          renderingEngine()
            .getViewports()
            .map((v) => v.id),
        );
      })
      .catch((e: unknown) => live && setStatus(`Stored measurements could not be read: ${String(e)}`));
    return () => {
      live = false;
    };
  }, [studyUid, loaded]);
  const save = async () => {
    setBusy(true);
    try {
      const uid = await saveMeasurements(studyUid, author);
      setStatus(`Saved to the archive (report ${uid})`);
    } catch (e) {
      setStatus(`Not saved: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <aside className="measurements" aria-labelledby="m-title">
      <h2 id="m-title">Measurements</h2>
      <button
        type="button"
        onClick={save}
        disabled={busy || rows.length === 0}
        data-testid="save-measurements"
      >
        Save to archive
      </button>
      <p className="sub" role="status" data-testid="report-status">
        {status}
      </p>
      {rows.length === 0 ? (
        <p className="sub">None yet: choose Length, Angle, Ellipse or Rectangle and draw on the image.</p>
      ) : (
        <ol>
          {rows.map((r) => (
            <li key={r.uid} data-testid="measurement" data-tool={r.tool} data-amount={r.amount}>
              <span className="tool">{r.tool}</span> <span className="value">{r.value}</span>
              {r.stats && <div className="sub">{r.stats}</div>}
              <button
                type="button"
                aria-label={`Remove ${r.tool} ${r.value}`}
                onClick={() => {
                  annotation.state.removeAnnotation(r.uid);
                  csUtils.triggerEvent?.(eventTarget, ToolEnums.Events.ANNOTATION_REMOVED, {});
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ol>
      )}
    </aside>
  );
}
