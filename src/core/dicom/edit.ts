import { CharacterSets } from './charset.js';
import { type DataElement, Dataset, EXPLICIT_LITTLE } from './dataset.js';
import { Tag, tagHex } from './dictionary.js';
import type { JsonAttribute, JsonDataset } from './json.js';
import { sequenceElement, stringElement } from './encode.js';
import { DicomFormatError, LanternError } from '../errors.js';
import { DicomParser, metaHeaderEnd, parseDicom } from './parser.js';
import { encodeDataset, encodedLength, encodePart10 } from './writer.js';
import type { Vr } from './vr.js';

/** An attribute as an edit writes it: string values, or a sequence of items of such attributes. */
export type EditedAttribute =
  | { readonly tag: number; readonly vr: Vr; readonly values: readonly string[] }
  | { readonly tag: number; readonly items: readonly (readonly EditedAttribute[])[] };

/**
 * A change to one top-level attribute of a stored object: its new string values (in the order of the VR's
 * multiplicity), a sequence of items (Other Patient IDs), or nothing (removed).
 */
export type AttributeChange = EditedAttribute | { readonly tag: number; readonly remove: true };

/** Where edits may reach: the attributes of the patient, study and series modules, before the image's own. */
export const EDITABLE_BELOW = 0x00280000;

/** An edit of a stored object: its new beginning, and where in the stored bytes the rest follows unchanged. */
export interface HeadEdit {
  /** The preamble and meta header as stored, then the data set's elements up to the last changed one. */
  readonly head: Uint8Array;
  /** The offset in the stored object from which its bytes follow `head` unchanged. */
  readonly resumeAt: number;
}

/**
 * Edits the top-level attributes of a stored Part 10 object without touching anything else (docs/patients.md):
 * the meta header and every element after the last changed one stay byte for byte as stored (pixel data
 * included), the elements before it are written back from the bytes they were read from, and the changed
 * ones are encoded in the object's own character set. `head` is the object's first bytes; 'more' asks for
 * more of them (`whole`: there are no more). A value that the object's character set cannot hold turns a
 * data set in the default repertoire into UTF-8 (ISO_IR 192: a superset of it); in any other character set
 * it is refused (LNT_DICOM_CHARSET). A deflated object is read whole and written whole.
 */
export function editHead(
  head: Uint8Array,
  changes: readonly AttributeChange[],
  whole: boolean,
): HeadEdit | 'more' {
  if (!changes.length) throw new RangeError('an edit needs at least one change');
  const last = Math.max(...changes.map((c) => c.tag));
  if (
    last >= EDITABLE_BELOW ||
    changes.some((c) => c.tag >>> 16 === 0x0002 || c.tag === Tag.SpecificCharacterSet)
  )
    throw new RangeError('only top-level attributes of the patient, study and series may be edited');
  const start = metaHeaderEnd(head);
  if (start === undefined) {
    if (whole) throw new DicomFormatError('LNT_DICOM_NOT_DICOM', 'a stored object has no file meta header');
    return 'more';
  }
  const parser = new DicomParser({ untilPixelData: true });
  parser.push(head);
  if (!parser.stopped && parser.lastTopLevelTag <= last && !whole) return 'more';
  const ts = parser.transferSyntax;
  if (!ts) {
    if (whole)
      throw new DicomFormatError('LNT_DICOM_TRUNCATED', 'a stored object ends inside its meta header');
    return 'more';
  }
  if (ts.deflated) {
    // Compressed as a whole: read whole, written whole (deflated objects are small: reports, documents).
    if (!whole) return 'more';
    const parsed = parseDicom(head);
    const changed = apply(parsed.dataset, changes);
    return {
      head: encodePart10({ preamble: parsed.preamble, meta: parsed.meta!, dataset: changed }),
      resumeAt: head.length,
    };
  }
  const read = whole && !parser.stopped ? parser.end().dataset : parser.peekTopLevel();
  const enc = read.encoding;
  const original = new Dataset(
    read.elements.filter((e) => e.tag <= last),
    enc,
  );
  const resumeAt = start + encodedLength(original, enc);
  const body = encodeDataset(apply(original, changes), enc);
  const out = new Uint8Array(start + body.length);
  out.set(head.subarray(0, start));
  out.set(body, start);
  return { head: out, resumeAt };
}

/** The data set with the changes made, in its character set (or UTF-8, from the default repertoire). */
function apply(from: Dataset, changes: readonly AttributeChange[]): Dataset {
  let ds = from;
  let charset = from.charset;
  const encoded = (build: (cs: CharacterSets) => DataElement): DataElement => {
    try {
      return build(charset);
    } catch (e) {
      if (!(e instanceof DicomFormatError && e.code === 'LNT_DICOM_CHARSET')) throw e;
      if (!isDefaultRepertoire(charset))
        throw new LanternError(
          'LNT_DICOM_CHARSET',
          `the new value cannot be written in the object's character set (${charset.terms.join('\\')})`,
        );
      // The default repertoire is ASCII, which UTF-8 extends: the object's other values read the same.
      charset = CharacterSets.fromValue('ISO_IR 192');
      ds = ds.with(stringElement(Tag.SpecificCharacterSet, 'CS', ['ISO_IR 192']));
      return build(charset);
    }
  };
  for (const c of changes) {
    if ('remove' in c) {
      ds = ds.without(c.tag);
      continue;
    }
    // Built first: building may change the data set's character set (ds) itself.
    const el = encoded((cs) => element(c, cs));
    ds = ds.with(el);
  }
  return ds;
}

function element(a: EditedAttribute, cs: CharacterSets): DataElement {
  if ('values' in a) return stringElement(a.tag, a.vr, a.values, cs);
  return sequenceElement(
    a.tag,
    a.items.map(
      (item) =>
        new Dataset(
          item.map((x) => element(x, cs)),
          EXPLICIT_LITTLE,
        ),
    ),
  );
}

/** DICOM JSON (PS3.18 F) with the changes made: the index's copy of what the edited files hold. */
export function applyToJson(json: JsonDataset, changes: readonly AttributeChange[]): JsonDataset {
  const out: JsonDataset = { ...json };
  for (const c of changes) {
    if ('remove' in c) delete out[tagHex(c.tag)];
    else out[tagHex(c.tag)] = jsonOf(c);
  }
  return out;
}

function jsonOf(a: EditedAttribute): JsonAttribute {
  if ('items' in a) {
    return {
      vr: 'SQ',
      Value: a.items.map((item) => Object.fromEntries(item.map((x) => [tagHex(x.tag), jsonOf(x)]))),
    };
  }
  if (!a.values.length || (a.values.length === 1 && a.values[0] === '')) return { vr: a.vr };
  if (a.vr === 'PN') {
    return {
      vr: 'PN',
      Value: a.values.map((v) => {
        const [Alphabetic, Ideographic, Phonetic] = v.split('=');
        return {
          ...(Alphabetic ? { Alphabetic } : {}),
          ...(Ideographic ? { Ideographic } : {}),
          ...(Phonetic ? { Phonetic } : {}),
        };
      }),
    };
  }
  return { vr: a.vr, Value: [...a.values] };
}

/**
 * An attribute of DICOM JSON as an edit writes it (strings, person names as `A=I=P`, sequences of such);
 * undefined for what an edit cannot write (numbers, binary values).
 */
export function editedFromJson(tag: number, attr: JsonAttribute): EditedAttribute | undefined {
  const vr = attr.vr as Vr;
  if (vr === 'SQ') {
    const items: EditedAttribute[][] = [];
    for (const item of (attr.Value ?? []) as JsonDataset[]) {
      const attrs: EditedAttribute[] = [];
      for (const [k, v] of Object.entries(item)) {
        const e = editedFromJson(parseInt(k, 16) >>> 0, v);
        if (e) attrs.push(e);
      }
      items.push(attrs.sort((x, y) => x.tag - y.tag));
    }
    return { tag, items };
  }
  if (attr.InlineBinary !== undefined || attr.BulkDataURI !== undefined) return undefined;
  const values: string[] = [];
  for (const v of attr.Value ?? []) {
    if (typeof v === 'string') values.push(v);
    else if (v && typeof v === 'object' && vr === 'PN') {
      const pn = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      values.push(
        [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''].join('=').replace(/=+$/, ''),
      );
    } else return undefined;
  }
  return { tag, vr, values };
}

/**
 * The changes that make attributes `tags` of `current` what they are in `target` (DICOM JSON): set where the
 * target has them, removed where only the current has them (the patient module of a patient merged into
 * another).
 */
export function changesToMatch(
  target: JsonDataset,
  current: JsonDataset,
  tags: readonly number[],
): AttributeChange[] {
  const out: AttributeChange[] = [];
  for (const tag of tags) {
    const t = target[tagHex(tag)];
    if (t) {
      const e = editedFromJson(tag, t);
      if (e) out.push(e);
    } else if (current[tagHex(tag)]) out.push({ tag, remove: true });
  }
  return out;
}

function isDefaultRepertoire(cs: CharacterSets): boolean {
  return (
    cs.terms.length === 0 || (cs.terms.length === 1 && (cs.terms[0] === '' || cs.terms[0] === 'ISO_IR 6'))
  );
}
