import { CharacterSets } from './charset.js';
import { Tag } from './dictionary.js';
import type { Vr } from './vr.js';

export const UNDEFINED_LENGTH = 0xffffffff;

/** How a dataset's elements are encoded: the part of a transfer syntax the reader and writer care about. */
export interface Encoding {
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
}

export const IMPLICIT_LITTLE: Encoding = Object.freeze({ explicitVr: false, littleEndian: true });
export const EXPLICIT_LITTLE: Encoding = Object.freeze({ explicitVr: true, littleEndian: true });
export const EXPLICIT_BIG: Encoding = Object.freeze({ explicitVr: true, littleEndian: false });

export function sameEncoding(a: Encoding, b: Encoding): boolean {
  return a.explicitVr === b.explicitVr && a.littleEndian === b.littleEndian;
}

/** A value left in its source (not read into memory): absolute byte offset and length in the input. */
export interface BulkRef {
  readonly offset: number;
  readonly length: number;
}

/**
 * One data element. Elements read from bytes keep their original header bytes (and value bytes), so a
 * dataset written back in the same encoding reproduces them exactly. Elements built in code have no header.
 */
export interface DataElement {
  readonly tag: number;
  readonly vr: Vr;
  /** Declared value length as read (UNDEFINED_LENGTH for undefined), or the length to encode. */
  readonly length: number;
  /** The encoded tag/VR/length as read. */
  readonly header?: Uint8Array;
  /** Value bytes (not for SQ or encapsulated pixel data), in the dataset's byte order. */
  readonly value?: Uint8Array;
  readonly items?: readonly SequenceItem[];
  /** Encapsulated pixel data: the Basic Offset Table item first, then the fragments. */
  readonly fragments?: readonly Fragment[];
  /** The Sequence Delimitation Item as read, for undefined-length sequences and fragments. */
  readonly trailer?: Uint8Array;
  /** Set when the value was not kept in memory. */
  readonly bulk?: BulkRef;
}

export interface SequenceItem {
  readonly header?: Uint8Array;
  readonly dataset: Dataset;
  /** The Item Delimitation Item as read, for undefined-length items. */
  readonly trailer?: Uint8Array;
  /** Declared item length (UNDEFINED_LENGTH for undefined). */
  readonly length: number;
}

export interface Fragment {
  readonly header?: Uint8Array;
  readonly length: number;
  readonly value?: Uint8Array;
  readonly bulk?: BulkRef;
}

/**
 * An immutable dataset: elements in their stored order. Changing one returns a new dataset; untouched
 * elements keep their bytes. The character set is the dataset's own (0008,0005) or its parent's.
 */
export class Dataset {
  readonly elements: readonly DataElement[];
  readonly encoding: Encoding;
  private readonly parentCharset: CharacterSets;
  private byTag: Map<number, DataElement> | undefined;
  private cs: CharacterSets | undefined;

  constructor(
    elements: readonly DataElement[],
    encoding: Encoding,
    parentCharset: CharacterSets = CharacterSets.DEFAULT,
  ) {
    this.elements = elements;
    this.encoding = encoding;
    this.parentCharset = parentCharset;
  }

  static empty(encoding: Encoding = EXPLICIT_LITTLE): Dataset {
    return new Dataset([], encoding);
  }

  get size(): number {
    return this.elements.length;
  }

  get(tag: number): DataElement | undefined {
    if (this.elements.length < 12) {
      for (const e of this.elements) if (e.tag === tag) return e;
      return undefined;
    }
    if (!this.byTag) {
      this.byTag = new Map();
      for (const e of this.elements) if (!this.byTag.has(e.tag)) this.byTag.set(e.tag, e);
    }
    return this.byTag.get(tag);
  }

  has(tag: number): boolean {
    return this.get(tag) !== undefined;
  }

  get charset(): CharacterSets {
    if (!this.cs) {
      const own = this.get(Tag.SpecificCharacterSet);
      if (own?.value) {
        let s = '';
        for (const b of own.value) s += String.fromCharCode(b);
        this.cs = CharacterSets.fromValue(s.replace(/[\s\0]+$/, ''));
      } else this.cs = this.parentCharset;
    }
    return this.cs;
  }

  /** The character set inherited from the enclosing dataset. */
  get inheritedCharset(): CharacterSets {
    return this.parentCharset;
  }

  /** A copy with the element added or replaced (kept in tag order when added). */
  with(el: DataElement): Dataset {
    const out = this.elements.slice();
    const i = out.findIndex((e) => e.tag === el.tag);
    if (i >= 0) out[i] = el;
    else {
      let at = out.findIndex((e) => e.tag > el.tag);
      if (at < 0) at = out.length;
      out.splice(at, 0, el);
    }
    return new Dataset(out, this.encoding, this.parentCharset);
  }

  without(tag: number): Dataset {
    if (!this.has(tag)) return this;
    return new Dataset(
      this.elements.filter((e) => e.tag !== tag),
      this.encoding,
      this.parentCharset,
    );
  }

  /** A copy that takes its character set, when it has none of its own, from a new parent. */
  withParentCharset(cs: CharacterSets): Dataset {
    return new Dataset(this.elements, this.encoding, cs);
  }
}
