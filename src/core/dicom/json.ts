import { LanternError } from '../errors.js';
import { CharacterSets } from './charset.js';
import { type DataElement, Dataset, EXPLICIT_LITTLE } from './dataset.js';
import { Tag, tagHex } from './dictionary.js';
import { bytesElement, numberElement, sequenceElement, stringElement, vrOf } from './encode.js';
import {
  joinPersonName,
  numberValues,
  type PersonName,
  rawString,
  splitPersonName,
  trimValue,
} from './values.js';
import { isBulkVr, isSingleValuedText, isStringVr, isVr, type Vr } from './vr.js';

/** The DICOM JSON model (PS3.18 Annex F). */
export interface JsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type JsonDataset = Record<string, JsonAttribute>;

export interface ToJsonOptions {
  /**
   * Called for each bulk value (OB, OW, OF, OD, OL, OV, UN and pixel data): return a BulkDataURI, or undefined
   * to inline the value as base64. `path` lists the tags and item indexes leading to the element.
   */
  bulkDataUri?: (path: readonly (number | string)[], el: DataElement) => string | undefined;
  /** Leave out elements with these tags (top level only). */
  exclude?: ReadonlySet<number>;
}

export function toJson(ds: Dataset, options: ToJsonOptions = {}): JsonDataset {
  return datasetToJson(ds, options, [], true);
}

const NO_OPTIONS: ToJsonOptions = {};

/**
 * The dataset as DICOM JSON text, equal in content to `JSON.stringify(toJson(ds))` and in tag order. Written
 * directly: one object holding hundreds of tags is slow to build and slower to stringify, and the ingest
 * path stores every instance's attributes this way.
 */
export function toJsonText(ds: Dataset): string {
  let out = '{';
  for (const el of ds.elements) {
    if ((el.tag & 0xffff0000) === 0xfffe0000) continue;
    if (out.length > 1) out += ',';
    out += '"' + tagHex(el.tag) + '":' + attributeText(el, ds);
  }
  return out + '}';
}

function attributeText(el: DataElement, ds: Dataset): string {
  const vr = el.vr;
  const head = '{"vr":"' + vr + '"';
  if (el.items) {
    if (!el.items.length) return head + '}';
    return head + ',"Value":[' + el.items.map((it) => toJsonText(it.dataset)).join(',') + ']}';
  }
  if (el.fragments || isBulkVr(vr) || el.bulk) {
    if (el.fragments || !el.value || el.value.length === 0) return head + '}';
    const b64 = Buffer.from(el.value.buffer, el.value.byteOffset, el.value.byteLength).toString('base64');
    return head + ',"InlineBinary":"' + b64 + '"}';
  }
  if (!el.value || el.value.length === 0) return head + '}';
  let values = '';
  if (isStringVr(vr)) {
    const text = rawString(el, ds.charset);
    const parts = isSingleValuedText(vr) ? [text] : text.split('\\');
    for (let i = 0; i < parts.length; i++) {
      const v = trimValue(parts[i], vr);
      if (i) values += ',';
      if (v === '') values += 'null';
      else if (vr === 'PN') values += JSON.stringify(splitPersonName(v));
      else if (vr === 'IS' || vr === 'DS') {
        const n = Number(v);
        values += Number.isFinite(n) ? String(n) : JSON.stringify(v);
      } else values += JSON.stringify(v);
    }
  } else if (vr === 'AT') {
    const tags = numberValues(el, ds.encoding.littleEndian) as number[];
    for (let i = 0; i < tags.length; i++) values += (i ? ',"' : '"') + tagHex(tags[i]) + '"';
  } else {
    const nums = numberValues(el, ds.encoding.littleEndian) as (number | bigint)[];
    for (let i = 0; i < nums.length; i++) {
      if (i) values += ',';
      const n = nums[i];
      if (typeof n === 'bigint') {
        const safe = n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER);
        values += safe ? String(Number(n)) : '"' + n.toString() + '"';
      } else values += Number.isFinite(n) ? String(n) : 'null';
    }
  }
  return head + ',"Value":[' + values + ']}';
}

/** The DICOM JSON of the given top-level attributes only (those present). */
export function attributesToJson(ds: Dataset, tags: readonly number[]): JsonDataset {
  const out: JsonDataset = {};
  for (const tag of tags) {
    const el = ds.get(tag);
    if (el) out[tagHex(tag)] = attributeToJson(el, ds, NO_OPTIONS, []);
  }
  return out;
}

function datasetToJson(
  ds: Dataset,
  options: ToJsonOptions,
  path: (number | string)[],
  top: boolean,
): JsonDataset {
  const out: JsonDataset = {};
  for (const el of ds.elements) {
    if ((el.tag & 0xffff0000) === 0xfffe0000) continue;
    if (top && options.exclude?.has(el.tag)) continue;
    // Paths are only built when someone asks for them (bulk data URIs): most calls never need one.
    out[tagHex(el.tag)] = attributeToJson(el, ds, options, options.bulkDataUri ? [...path, el.tag] : path);
  }
  return out;
}

function attributeToJson(
  el: DataElement,
  ds: Dataset,
  options: ToJsonOptions,
  path: (number | string)[],
): JsonAttribute {
  const vr = el.vr;
  if (el.items) {
    return {
      vr,
      ...(el.items.length
        ? {
            Value: el.items.map((it, i) =>
              datasetToJson(it.dataset, options, options.bulkDataUri ? [...path, i] : path, false),
            ),
          }
        : {}),
    };
  }
  if (el.fragments || isBulkVr(vr) || el.bulk) {
    const uri = options.bulkDataUri?.(path, el);
    if (uri) return { vr, BulkDataURI: uri };
    if (el.fragments) return { vr };
    if (!el.value || el.value.length === 0) return { vr };
    return {
      vr,
      InlineBinary: Buffer.from(el.value.buffer, el.value.byteOffset, el.value.byteLength).toString('base64'),
    };
  }
  if (!el.value || el.value.length === 0) return { vr };
  if (isStringVr(vr)) {
    const text = rawString(el, ds.charset);
    const parts = isSingleValuedText(vr) ? [text] : text.split('\\');
    const values = parts.map((p) => trimValue(p, vr));
    if (vr === 'PN') return { vr, Value: values.map((v) => (v === '' ? null : splitPersonName(v))) };
    if (vr === 'IS' || vr === 'DS') {
      return {
        vr,
        Value: values.map((v) => {
          if (v === '') return null;
          const n = Number(v);
          return Number.isFinite(n) ? n : v;
        }),
      };
    }
    return { vr, Value: values.map((v) => (v === '' ? null : v)) };
  }
  if (vr === 'AT') return { vr, Value: (numberValues(el, ds.encoding.littleEndian) as number[]).map(tagHex) };
  const nums = numberValues(el, ds.encoding.littleEndian);
  return {
    vr,
    Value: (nums as (number | bigint)[]).map((n) =>
      typeof n === 'bigint'
        ? n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(n)
          : n.toString()
        : n,
    ),
  };
}

function invalid(msg: string): never {
  throw new LanternError('LNT_JSON_INVALID', msg);
}

/**
 * Builds a dataset (explicit VR little endian) from the DICOM JSON model. BulkDataURI values are resolved
 * by `resolveBulk` when given, else rejected.
 */
export function fromJson(
  json: unknown,
  resolveBulk?: (uri: string) => Uint8Array,
  parentCharset: CharacterSets = CharacterSets.DEFAULT,
): Dataset {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    invalid('a dataset must be a JSON object');
  const obj = json as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let charset = parentCharset;
  const csAttr = obj[tagHex(Tag.SpecificCharacterSet)] as JsonAttribute | undefined;
  if (csAttr?.Value)
    charset = CharacterSets.fromValue(csAttr.Value.map((v) => (v === null ? '' : String(v))).join('\\'));
  const elements: DataElement[] = [];
  let needsUtf8 = false;
  for (const key of keys) {
    if (!/^[0-9A-Fa-f]{8}$/.test(key))
      invalid(`attribute key "${key.slice(0, 20)}" is not 8 hexadecimal digits`);
    const tag = parseInt(key, 16) >>> 0;
    const attr = obj[key] as JsonAttribute;
    if (typeof attr !== 'object' || attr === null) invalid(`attribute ${key} must be an object`);
    const vr = (attr.vr ?? vrOf(tag)) as Vr;
    if (!isVr(vr)) invalid(`attribute ${key} has an unknown vr "${String(attr.vr).slice(0, 8)}"`);
    const values = attr.Value;
    if (values !== undefined && !Array.isArray(values)) invalid(`attribute ${key}: Value must be an array`);
    if (attr.InlineBinary !== undefined) {
      if (typeof attr.InlineBinary !== 'string') invalid(`attribute ${key}: InlineBinary must be a string`);
      elements.push(bytesElement(tag, vr, new Uint8Array(Buffer.from(attr.InlineBinary, 'base64'))));
      continue;
    }
    if (attr.BulkDataURI !== undefined) {
      if (!resolveBulk) invalid(`attribute ${key}: BulkDataURI cannot be resolved here`);
      elements.push(bytesElement(tag, vr, resolveBulk(String(attr.BulkDataURI))));
      continue;
    }
    if (vr === 'SQ') {
      const items = (values ?? []).map((v) => fromJson(v, resolveBulk, charset));
      elements.push(sequenceElement(tag, items));
      continue;
    }
    if (!values || values.length === 0) {
      elements.push({ tag, vr, length: 0, value: new Uint8Array(0) });
      continue;
    }
    if (isStringVr(vr)) {
      const strs = values.map((v) => {
        if (v === null) return '';
        if (vr === 'PN') {
          if (typeof v !== 'object') invalid(`attribute ${key}: a PN value must be an object`);
          return joinPersonName(v as PersonName);
        }
        if (typeof v !== 'string' && typeof v !== 'number')
          invalid(`attribute ${key}: values must be strings`);
        return String(v);
      });
      if (strs.some((s) => /[^\x20-\x7e\r\n\t\f]/.test(s))) {
        if (charset.isDefault) needsUtf8 = true;
      }
      elements.push(
        stringElement(
          tag,
          vr,
          strs,
          needsUtf8 && charset.isDefault ? CharacterSets.fromValue('ISO_IR 192') : charset,
        ),
      );
      continue;
    }
    if (vr === 'AT') {
      elements.push(
        numberElement(
          tag,
          vr,
          values.map((v) => parseInt(String(v), 16) >>> 0),
        ),
      );
      continue;
    }
    const nums = values.map((v) => {
      if (vr === 'SV' || vr === 'UV') return BigInt(v as string | number);
      if (typeof v !== 'number') invalid(`attribute ${key}: values must be numbers`);
      return v;
    });
    elements.push(numberElement(tag, vr, nums));
  }
  let ds = new Dataset(elements, EXPLICIT_LITTLE, parentCharset);
  if (needsUtf8 && !csAttr && parentCharset.isDefault) {
    ds = ds.with(stringElement(Tag.SpecificCharacterSet, 'CS', ['ISO_IR 192']));
  }
  return ds;
}
