import { LanternError } from '../errors.js';
import type { Dataset } from '../dicom/dataset.js';
import { Tag } from '../dicom/dictionary.js';
import { getNumber, getString, getStrings, numberValues } from '../dicom/values.js';

/** Frames larger than this many pixels are not decoded or rendered (8192 x 8192: mammography fits). */
export const MAX_FRAME_PIXELS = 8192 * 8192;

/**
 * One lookup table (PS3.3 C.7.6.3.1.5 palette, C.11.1 Modality LUT, C.11.2 VOI LUT): entries, first mapped
 * value, bits per entry.
 */
export interface PaletteLut {
  readonly entries: number;
  readonly first: number;
  readonly bits: number;
  readonly data: Uint16Array;
}

export interface Window {
  readonly center: number;
  readonly width: number;
}

/** The Image Pixel module (PS3.3 C.7.6.3) and the transforms rendering needs (C.11.1, C.11.2). */
export interface PixelModule {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 unsigned, 1 two's complement. */
  readonly pixelRepresentation: number;
  readonly photometric: string;
  /** 0 colour-by-pixel, 1 colour-by-plane. */
  readonly planarConfiguration: number;
  readonly frames: number;
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
  readonly windows: readonly Window[];
  readonly voiLutFunction: string;
  /** INVERSE flips the output grey scale (PS3.3 C.11.6). */
  readonly presentationLutShape: string;
  readonly palette: { red: PaletteLut; green: PaletteLut; blue: PaletteLut } | undefined;
  /** The Modality LUT Sequence's table, which replaces the rescale when present. */
  readonly modalityLut: PaletteLut | undefined;
  /** The VOI LUT Sequence's tables (used when no window is asked for or given). */
  readonly voiLuts: readonly PaletteLut[];
}

function invalid(message: string): never {
  throw new LanternError('LNT_IMAGE_INVALID', message);
}

function paletteLut(
  ds: Dataset,
  descriptorTag: number,
  dataTag: number,
  signedFirst = getNumber(ds, Tag.PixelRepresentation) === 1,
): PaletteLut | undefined {
  const d = ds.get(descriptorTag);
  const data = ds.get(dataTag);
  if (!d?.value || !data?.value) return undefined;
  const le = ds.encoding.littleEndian;
  const desc = numberValues({ ...d, vr: 'US' }, le).map(Number);
  if (desc.length < 3) invalid('a lookup table descriptor has fewer than three values');
  const entries = desc[0] === 0 ? 65536 : desc[0];
  // The first mapped value is signed when the values it maps are (PS3.3 C.7.6.3.1.5, C.11.1.1).
  const first = signedFirst && desc[1] > 32767 ? desc[1] - 65536 : desc[1];
  const bits = desc[2];
  const bytes = data.value;
  let values: Uint16Array;
  if (bytes.length >= entries * 2) {
    values = new Uint16Array(entries);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < entries; i++) values[i] = view.getUint16(i * 2, le);
  } else if (bits === 8 && bytes.length >= entries) {
    values = Uint16Array.from(bytes.subarray(0, entries));
  } else invalid('lookup table data is shorter than its descriptor');
  return { entries, first, bits, data: values };
}

/** Reads and checks the pixel module of a data set (the header of a stored object). */
export function pixelModule(ds: Dataset): PixelModule {
  const rows = getNumber(ds, Tag.Rows) ?? 0;
  const columns = getNumber(ds, Tag.Columns) ?? 0;
  const samplesPerPixel = getNumber(ds, Tag.SamplesPerPixel) ?? 1;
  const bitsAllocated = getNumber(ds, Tag.BitsAllocated) ?? 0;
  const bitsStored = getNumber(ds, Tag.BitsStored) ?? bitsAllocated;
  const highBit = getNumber(ds, Tag.HighBit) ?? bitsStored - 1;
  const photometric = (getString(ds, Tag.PhotometricInterpretation) ?? '').trim().toUpperCase();
  if (!ds.has(Tag.PixelData)) {
    throw new LanternError('LNT_IMAGE_UNSUPPORTED', 'the instance has no pixel data to render');
  }
  if (rows < 1 || columns < 1) invalid('Rows and Columns must be at least 1');
  if (rows * columns > MAX_FRAME_PIXELS) {
    invalid(`a ${columns}x${rows} frame is larger than the ${MAX_FRAME_PIXELS}-pixel limit`);
  }
  if (![1, 8, 16, 32].includes(bitsAllocated)) invalid(`Bits Allocated ${bitsAllocated} is not supported`);
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    invalid(`Samples per Pixel ${samplesPerPixel} is not supported`);
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit !== bitsStored - 1) {
    invalid('Bits Stored and High Bit do not fit Bits Allocated');
  }
  const frames = getNumber(ds, Tag.NumberOfFrames) ?? 1;
  if (!Number.isInteger(frames) || frames < 1) invalid('Number of Frames must be a positive integer');
  const centers = getStrings(ds, Tag.WindowCenter).map(Number);
  const widths = getStrings(ds, Tag.WindowWidth).map(Number);
  const windows: Window[] = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    if (Number.isFinite(centers[i]) && Number.isFinite(widths[i]) && widths[i] > 0) {
      windows.push({ center: centers[i], width: widths[i] });
    }
  }
  const red = paletteLut(ds, Tag.RedPaletteColorLookupTableDescriptor, Tag.RedPaletteColorLookupTableData);
  const green = paletteLut(
    ds,
    Tag.GreenPaletteColorLookupTableDescriptor,
    Tag.GreenPaletteColorLookupTableData,
  );
  const blue = paletteLut(ds, Tag.BluePaletteColorLookupTableDescriptor, Tag.BluePaletteColorLookupTableData);
  if (photometric === 'PALETTE COLOR' && !(red && green && blue)) {
    invalid('a PALETTE COLOR image lacks its lookup tables');
  }
  const slope = getNumber(ds, Tag.RescaleSlope);
  const signed = getNumber(ds, Tag.PixelRepresentation) === 1;
  const seqLut = (tag: number, signedFirst: boolean): PaletteLut[] =>
    (ds.get(tag)?.items ?? []).flatMap((it) => {
      const lut = paletteLut(it.dataset, Tag.LUTDescriptor, Tag.LUTData, signedFirst);
      return lut ? [lut] : [];
    });
  const modalityLut = seqLut(Tag.ModalityLUTSequence, signed)[0];
  const intercept = getNumber(ds, Tag.RescaleIntercept) ?? 0;
  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation: getNumber(ds, Tag.PixelRepresentation) ?? 0,
    photometric,
    planarConfiguration: samplesPerPixel > 1 ? (getNumber(ds, Tag.PlanarConfiguration) ?? 0) : 0,
    frames,
    rescaleSlope: slope === undefined || slope === 0 ? 1 : slope,
    rescaleIntercept: intercept,
    windows,
    voiLutFunction: (getString(ds, Tag.VOILUTFunction) ?? 'LINEAR').trim().toUpperCase(),
    presentationLutShape: (getString(ds, Tag.PresentationLUTShape) ?? 'IDENTITY').trim().toUpperCase(),
    palette: red && green && blue ? { red, green, blue } : undefined,
    modalityLut,
    voiLuts: seqLut(Tag.VOILUTSequence, modalityLut ? false : signed || intercept < 0),
  };
}

/**
 * Bytes of one native (uncompressed) frame. YBR_FULL_422 keeps two luminance samples and one pair of chroma
 * samples per two pixels (PS3.3 C.7.6.3.1.2). One-bit frames are counted in bits (they need not end on a byte).
 */
export function nativeFrameBits(pm: PixelModule): number {
  const samples = pm.photometric === 'YBR_FULL_422' ? 2 : pm.samplesPerPixel;
  return pm.rows * pm.columns * samples * pm.bitsAllocated;
}
