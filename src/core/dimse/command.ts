import { LanternError } from '../errors.js';
import { latin1 } from '../dicom/charset.js';

/**
 * DIMSE command sets (PS3.7 9.3, 10.3 and Annex E): group 0000 elements, always implicit VR little endian,
 * led by Command Group Length. The standard data this project generates its dictionary from has no group
 * 0000, so the command fields are listed here from PS3.7 Table E.1-1.
 */
export const CommandTag = {
  CommandGroupLength: 0x00000000,
  AffectedSOPClassUID: 0x00000002,
  RequestedSOPClassUID: 0x00000003,
  CommandField: 0x00000100,
  MessageID: 0x00000110,
  MessageIDBeingRespondedTo: 0x00000120,
  MoveDestination: 0x00000600,
  Priority: 0x00000700,
  CommandDataSetType: 0x00000800,
  Status: 0x00000900,
  OffendingElement: 0x00000901,
  ErrorComment: 0x00000902,
  ErrorID: 0x00000903,
  AffectedSOPInstanceUID: 0x00001000,
  RequestedSOPInstanceUID: 0x00001001,
  EventTypeID: 0x00001002,
  AttributeIdentifierList: 0x00001005,
  ActionTypeID: 0x00001008,
  NumberOfRemainingSuboperations: 0x00001020,
  NumberOfCompletedSuboperations: 0x00001021,
  NumberOfFailedSuboperations: 0x00001022,
  NumberOfWarningSuboperations: 0x00001023,
  MoveOriginatorApplicationEntityTitle: 0x00001030,
  MoveOriginatorMessageID: 0x00001031,
} as const;

type CommandKeyword = keyof typeof CommandTag;
type Kind = 'UI' | 'US' | 'UL' | 'AE' | 'LO' | 'AT';

const KIND: Record<CommandKeyword, Kind> = {
  CommandGroupLength: 'UL',
  AffectedSOPClassUID: 'UI',
  RequestedSOPClassUID: 'UI',
  CommandField: 'US',
  MessageID: 'US',
  MessageIDBeingRespondedTo: 'US',
  MoveDestination: 'AE',
  Priority: 'US',
  CommandDataSetType: 'US',
  Status: 'US',
  OffendingElement: 'AT',
  ErrorComment: 'LO',
  ErrorID: 'US',
  AffectedSOPInstanceUID: 'UI',
  RequestedSOPInstanceUID: 'UI',
  EventTypeID: 'US',
  AttributeIdentifierList: 'AT',
  ActionTypeID: 'US',
  NumberOfRemainingSuboperations: 'US',
  NumberOfCompletedSuboperations: 'US',
  NumberOfFailedSuboperations: 'US',
  NumberOfWarningSuboperations: 'US',
  MoveOriginatorApplicationEntityTitle: 'AE',
  MoveOriginatorMessageID: 'US',
};

const KEYWORD_OF = new Map<number, CommandKeyword>(
  (Object.entries(CommandTag) as [CommandKeyword, number][]).map(([k, t]) => [t, k]),
);

/** Command Field values (PS3.7 E.1-1). */
export const CommandField = {
  C_STORE_RQ: 0x0001,
  C_STORE_RSP: 0x8001,
  C_GET_RQ: 0x0010,
  C_GET_RSP: 0x8010,
  C_FIND_RQ: 0x0020,
  C_FIND_RSP: 0x8020,
  C_MOVE_RQ: 0x0021,
  C_MOVE_RSP: 0x8021,
  C_ECHO_RQ: 0x0030,
  C_ECHO_RSP: 0x8030,
  N_EVENT_REPORT_RQ: 0x0100,
  N_EVENT_REPORT_RSP: 0x8100,
  N_GET_RQ: 0x0110,
  N_GET_RSP: 0x8110,
  N_SET_RQ: 0x0120,
  N_SET_RSP: 0x8120,
  N_ACTION_RQ: 0x0130,
  N_ACTION_RSP: 0x8130,
  N_CREATE_RQ: 0x0140,
  N_CREATE_RSP: 0x8140,
  N_DELETE_RQ: 0x0150,
  N_DELETE_RSP: 0x8150,
  C_CANCEL_RQ: 0x0fff,
} as const;

/** Command Data Set Type value meaning "no data set" (PS3.7 E.1-1); any other value means one follows. */
export const NO_DATASET = 0x0101;
/** The Command Data Set Type value sent when a data set follows (any value but NO_DATASET would do). */
export const WITH_DATASET = 0x0000;

/** Response command fields are the request's with the high bit set (PS3.7 E.1-1). */
export function isResponse(commandField: number): boolean {
  return (commandField & 0x8000) !== 0;
}

/** A command as plain fields. Numbers for US/UL, strings for UI/AE/LO, tag numbers for AT. */
export type Command = {
  [K in CommandKeyword]?: K extends 'OffendingElement' | 'AttributeIdentifierList'
    ? number[]
    : string | number;
};

/** A command set that cannot be read or written (PS3.7 E). */
export class CommandError extends LanternError {
  constructor(message: string) {
    super('LNT_DIMSE_COMMAND', message);
  }
}

/** Encodes a command set in implicit VR little endian, with its group length first. */
export function encodeCommand(cmd: Command): Uint8Array {
  // Sizes first, then every value written in place: one allocation per command set (one per C-FIND match).
  const parts: { tag: number; kind: Kind; v: string | number | number[]; size: number }[] = [];
  let groupLength = 0;
  for (const k in cmd) {
    const v = cmd[k as CommandKeyword];
    if (v === undefined || k === 'CommandGroupLength') continue;
    const kind = KIND[k as CommandKeyword];
    const size = valueSize(kind, v);
    parts.push({ tag: CommandTag[k as CommandKeyword], kind, v, size });
    groupLength += 8 + size;
  }
  parts.sort((a, b) => a.tag - b.tag);
  const out = new Uint8Array(12 + groupLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CommandTag.CommandGroupLength, true); // (0000,0000) as group 0000, element 0000
  dv.setUint32(4, 4, true);
  dv.setUint32(8, groupLength, true);
  let o = 12;
  for (const p of parts) {
    dv.setUint16(o, p.tag >>> 16, true);
    dv.setUint16(o + 2, p.tag & 0xffff, true);
    dv.setUint32(o + 4, p.size, true);
    writeValue(out, dv, o + 8, p.kind, p.v);
    o += 8 + p.size;
  }
  return out;
}

function valueSize(kind: Kind, v: string | number | number[]): number {
  if (kind === 'US') return 2;
  if (kind === 'UL') return 4;
  if (kind === 'AT') return 4 * (v as number[]).length;
  const n = String(v).length;
  return n + (n % 2);
}

function writeValue(
  out: Uint8Array,
  dv: DataView,
  o: number,
  kind: Kind,
  v: string | number | number[],
): void {
  switch (kind) {
    case 'US':
      dv.setUint16(o, v as number, true);
      return;
    case 'UL':
      dv.setUint32(o, v as number, true);
      return;
    case 'AT':
      (v as number[]).forEach((t, i) => {
        dv.setUint16(o + i * 4, t >>> 16, true);
        dv.setUint16(o + i * 4 + 2, t & 0xffff, true);
      });
      return;
    default: {
      const s = String(v);
      for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i) & 0xff;
      // UI pads with NUL, the other strings with a space.
      if (s.length % 2) out[o + s.length] = kind === 'UI' ? 0 : 0x20;
    }
  }
}

/** Decodes a command set. Unknown group 0000 elements are ignored; anything outside group 0000 is an error. */
export function decodeCommand(bytes: Uint8Array): Command {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, string | number | number[]> = {};
  let o = 0;
  while (o < bytes.length) {
    if (o + 8 > bytes.length) throw new CommandError('command set ends inside an element header');
    const group = dv.getUint16(o, true);
    const element = dv.getUint16(o + 2, true);
    const len = dv.getUint32(o + 4, true);
    if (group !== 0)
      throw new CommandError(`element (${hex4(group)},${hex4(element)}) is not a command element`);
    if (o + 8 + len > bytes.length)
      throw new CommandError(`command element (0000,${hex4(element)}) runs past the command set`);
    const value = bytes.subarray(o + 8, o + 8 + len);
    const k = KEYWORD_OF.get(element);
    if (k) out[k] = decodeValue(KIND[k], value, k);
    o += 8 + len;
  }
  return out as Command;
}

function decodeValue(kind: Kind, v: Uint8Array, k: string): string | number | number[] {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  switch (kind) {
    case 'US':
      if (v.length !== 2) throw new CommandError(`${k} must be 2 bytes long`);
      return dv.getUint16(0, true);
    case 'UL':
      if (v.length !== 4) throw new CommandError(`${k} must be 4 bytes long`);
      return dv.getUint32(0, true);
    case 'AT': {
      const tags: number[] = [];
      for (let i = 0; i + 4 <= v.length; i += 4)
        tags.push(((dv.getUint16(i, true) << 16) | dv.getUint16(i + 2, true)) >>> 0);
      return tags;
    }
    default:
      return latin1(v)
        .replace(/[\0 ]+$/, '')
        .replace(/^ +/, '');
  }
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** True when the command announces a data set after it. */
export function hasDataset(cmd: Command): boolean {
  return cmd.CommandDataSetType !== undefined && cmd.CommandDataSetType !== NO_DATASET;
}
