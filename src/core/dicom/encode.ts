import { CharacterSets, latin1Encode } from './charset.js';
import type { DataElement, Dataset, SequenceItem } from './dataset.js';
import { UNDEFINED_LENGTH } from './dataset.js';
import { lookupTag } from './dictionary.js';
import { paddingByte, resolveDictionaryVr, usesCharacterSet, valueWidth, type Vr } from './vr.js';

/** Builds elements from values, for datasets made or changed in code. Values are encoded little endian. */

function pad(bytes: Uint8Array, vr: Vr): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = paddingByte(vr);
  return out;
}

/** The VR the dictionary gives a tag (private and unknown tags: UN; private creators: LO). */
export function vrOf(tag: number): Vr {
  const el = tag & 0xffff;
  if ((tag >>> 16) & 1 && el >= 0x10 && el <= 0xff) return 'LO';
  return resolveDictionaryVr(lookupTag(tag)?.vr);
}

export function stringElement(
  tag: number,
  vr: Vr,
  values: readonly string[],
  charset: CharacterSets = CharacterSets.DEFAULT,
): DataElement {
  const text = values.join('\\');
  // A VR outside the character set's reach (UI, DA, CS, ...): a byte per character (a loop, not
  // Uint8Array.from(text, fn), twenty times slower on the short values queries return).
  const raw = usesCharacterSet(vr) ? charset.encode(text, vr) : latin1Encode(text);
  const value = pad(raw, vr);
  return { tag, vr, length: value.length, value };
}

export function numberElement(tag: number, vr: Vr, values: readonly (number | bigint)[]): DataElement {
  const size = valueWidth(vr);
  if (!size) throw new Error(`${vr} is not a binary number VR`);
  const value = new Uint8Array(size * values.length);
  const dv = new DataView(value.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    switch (vr) {
      case 'US':
      case 'OW':
        dv.setUint16(o, Number(v), true);
        break;
      case 'SS':
        dv.setInt16(o, Number(v), true);
        break;
      case 'UL':
      case 'OL':
        dv.setUint32(o, Number(v), true);
        break;
      case 'SL':
        dv.setInt32(o, Number(v), true);
        break;
      case 'FL':
      case 'OF':
        dv.setFloat32(o, Number(v), true);
        break;
      case 'FD':
      case 'OD':
        dv.setFloat64(o, Number(v), true);
        break;
      case 'SV':
        dv.setBigInt64(o, BigInt(v), true);
        break;
      case 'UV':
      case 'OV':
        dv.setBigUint64(o, BigInt(v), true);
        break;
      case 'AT':
        dv.setUint16(o, Number(v) >>> 16, true);
        dv.setUint16(o + 2, Number(v) & 0xffff, true);
        break;
    }
  });
  return { tag, vr, length: value.length, value };
}

export function bytesElement(tag: number, vr: Vr, bytes: Uint8Array): DataElement {
  const value = pad(bytes, vr);
  return { tag, vr, length: value.length, value };
}

export function sequenceElement(tag: number, items: readonly Dataset[], vr: Vr = 'SQ'): DataElement {
  const its: SequenceItem[] = items.map((dataset) => ({ dataset, length: UNDEFINED_LENGTH }));
  return { tag, vr, length: UNDEFINED_LENGTH, items: its };
}
