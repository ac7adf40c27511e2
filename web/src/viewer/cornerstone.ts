/**
 * Cornerstone3D for the viewer: initialised once, the DICOM image loader reading frames from our own WADO-RS
 * (same origin, the session cookie), and the tools a reader uses. Everything Cornerstone-specific that is not
 * a React component lives here.
 */
import { Enums, init as coreInit, RenderingEngine } from '@cornerstonejs/core';
import { init as loaderInit, wadors } from '@cornerstonejs/dicom-image-loader';
import { utilities as metadataUtilities } from '@cornerstonejs/metadata';
import {
  AngleTool,
  addTool,
  EllipticalROITool,
  Enums as ToolEnums,
  init as toolsInit,
  LengthTool,
  PanTool,
  RectangleROITool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import { type JsonDataset, num, str } from '../lib/dicom-json.js';

let ready: Promise<void> | undefined;

/** Initialise Cornerstone, its image loader and tools, once. */
export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    await coreInit();
    // Two cores on the machines this runs on in tests; a workstation has more.
    loaderInit({ maxWebWorkers: Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4)) });
    toolsInit();
    for (const t of [
      WindowLevelTool,
      PanTool,
      ZoomTool,
      StackScrollTool,
      LengthTool,
      AngleTool,
      EllipticalROITool,
      RectangleROITool,
    ])
      addTool(t);
  })();
  return ready;
}

export const ENGINE_ID = 'lantern';

let engine: RenderingEngine | undefined;
export function renderingEngine(): RenderingEngine {
  engine ??= new RenderingEngine(ENGINE_ID);
  return engine;
}

/** The tools the left button can take; the others have fixed buttons (right zooms, middle pans, wheel scrolls). */
export const LEFT_TOOLS = {
  wl: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  ellipse: EllipticalROITool.toolName,
  rectangle: RectangleROITool.toolName,
} as const;
export type LeftTool = keyof typeof LEFT_TOOLS;

export const MEASUREMENT_TOOLS: ReadonlySet<string> = new Set([
  LengthTool.toolName,
  AngleTool.toolName,
  EllipticalROITool.toolName,
  RectangleROITool.toolName,
]);

export const TOOL_GROUP_ID = 'lantern-viewer';

/**
 * The text a measurement tool draws beside its annotation: set by the measurement list (Measurements.tsx)
 * so that the label on the image says what the list says, by our calibration rules and with their caveat
 * (at the detector, estimated at the isocentre, uncalibrated), not Cornerstone's own figure.
 */
type TextLines = (toolName: string, data: unknown, imageId: string) => string[] | undefined;
let textLines: TextLines | undefined;
export function setMeasurementText(fn: TextLines): void {
  textLines = fn;
}

/** The viewer's one tool group (every viewport in it), created on first use. */
export function toolGroup() {
  let g = ToolGroupManager.getToolGroup(TOOL_GROUP_ID);
  if (g) return g;
  g = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!;
  for (const name of [...Object.values(LEFT_TOOLS), StackScrollTool.toolName]) {
    if (!MEASUREMENT_TOOLS.has(name)) {
      g.addTool(name);
      continue;
    }
    g.addTool(name, {
      getTextLines: (data: unknown, targetId: string) =>
        textLines?.(name, data, targetId.replace(/^[a-zA-Z]+:/, '')),
    });
  }
  const { MouseBindings } = ToolEnums;
  g.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  g.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  g.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  selectLeftTool('wl');
  return g;
}

let left: LeftTool | undefined;

/** Bind the left button to a tool; measurements already drawn stay visible (passive). */
export function selectLeftTool(tool: LeftTool): void {
  const g = ToolGroupManager.getToolGroup(TOOL_GROUP_ID);
  if (!g) return;
  const { MouseBindings } = ToolEnums;
  if (left && left !== tool) {
    const prev = LEFT_TOOLS[left];
    // Zoom and pan keep their own buttons.
    if (left === 'zoom') g.setToolActive(prev, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    else if (left === 'pan') g.setToolActive(prev, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    else g.setToolPassive(prev);
  }
  const bindings: { mouseButton: number }[] = [{ mouseButton: MouseBindings.Primary }];
  if (tool === 'zoom') bindings.push({ mouseButton: MouseBindings.Secondary });
  if (tool === 'pan') bindings.push({ mouseButton: MouseBindings.Auxiliary });
  g.setToolActive(LEFT_TOOLS[tool], { bindings });
  left = tool;
}

/** One displayable image: its imageId and the instance it comes from. */
export interface StackImage {
  readonly imageId: string;
  readonly instance: JsonDataset;
  readonly frame: number;
}

/**
 * The images of a series in display order (Instance Number, then position along the slice normal), one per
 * frame, their metadata given to the loader so no image needs a second request.
 */
/** The instance each imageId shows (for calibration and the tag browser). */
export const instanceOfImage = new Map<string, StackImage>();

export function stackOf(studyUid: string, instances: readonly JsonDataset[]): StackImage[] {
  const sorted = [...instances].sort(
    (a, b) =>
      (num(a, 'InstanceNumber') ?? 0) - (num(b, 'InstanceNumber') ?? 0) ||
      str(a, 'SOPInstanceUID').localeCompare(str(b, 'SOPInstanceUID')),
  );
  const out: StackImage[] = [];
  for (const ds of sorted) {
    const series = str(ds, 'SeriesInstanceUID');
    const sop = str(ds, 'SOPInstanceUID');
    const frames = Math.max(1, num(ds, 'NumberOfFrames') ?? 1);
    for (let f = 1; f <= frames; f++) {
      const imageId = `wadors:${location.origin}/dicom-web/studies/${studyUid}/series/${series}/instances/${sop}/frames/${f}`;
      wadors.metaDataManager.add(imageId, ds as never);
      void metadataUtilities
        .addDicomWebInstance(imageId, ds as Record<string, unknown>)
        ?.catch?.(() => undefined);
      const image = { imageId, instance: ds, frame: f };
      instanceOfImage.set(imageId, image);
      out.push(image);
    }
  }
  return out;
}

export const { ViewportType, Events } = Enums;
