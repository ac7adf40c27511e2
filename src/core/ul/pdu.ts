/**
 * Upper layer PDUs (PS3.8 9.3): types, a decoder and an encoder. Pure code: bytes in, objects out.
 * Names follow PS3.8 (AAssociateRq, PDataTf, ...). Decoding problems raise PduError with the A-ABORT reason
 * PS3.8 Table 9-26 gives for them.
 */

import { LanternError } from '../errors.js';
import { isUid } from '../dicom/uid.js';

export const PduType = {
  AAssociateRq: 0x01,
  AAssociateAc: 0x02,
  AAssociateRj: 0x03,
  PDataTf: 0x04,
  AReleaseRq: 0x05,
  AReleaseRp: 0x06,
  AAbort: 0x07,
} as const;

/** A-ABORT reasons when the source is the service provider (PS3.8 Table 9-26). */
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

/** A PDU that cannot be read, with the A-ABORT reason it calls for (PS3.8 Table 9-26). */
export class PduError extends LanternError {
  constructor(
    message: string,
    readonly reason: number = AbortReason.InvalidPduParameterValue,
  ) {
    super('LNT_DIMSE_PDU', message);
  }
}

export const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

export interface PresentationContextRq {
  readonly id: number;
  readonly abstractSyntax: string;
  readonly transferSyntaxes: readonly string[];
}

/** PS3.8 Table 9-18: 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not supported. */
export interface PresentationContextAc {
  readonly id: number;
  readonly result: 0 | 1 | 2 | 3 | 4;
  readonly transferSyntax: string;
}

export interface RoleSelection {
  readonly sopClassUid: string;
  readonly scu: boolean;
  readonly scp: boolean;
}

export interface ExtendedNegotiation {
  readonly sopClassUid: string;
  readonly info: Uint8Array;
}

export interface CommonExtendedNegotiation {
  readonly sopClassUid: string;
  readonly serviceClassUid: string;
  readonly relatedGeneralSopClasses: readonly string[];
}

/** PS3.7 D.3.3.7: 1 username, 2 username and passcode, 3 Kerberos, 4 SAML, 5 JWT. */
export interface UserIdentityRq {
  readonly type: number;
  readonly positiveResponseRequested: boolean;
  readonly primary: Uint8Array;
  readonly secondary: Uint8Array;
}

export interface UserInformation {
  readonly maxPduLength?: number;
  readonly implementationClassUid?: string;
  readonly implementationVersionName?: string;
  readonly asyncOps?: { readonly invoked: number; readonly performed: number };
  readonly roles?: readonly RoleSelection[];
  readonly extended?: readonly ExtendedNegotiation[];
  readonly commonExtended?: readonly CommonExtendedNegotiation[];
  readonly userIdentity?: UserIdentityRq;
  /** User identity server response (A-ASSOCIATE-AC only). */
  readonly userIdentityResponse?: Uint8Array;
}

export interface AAssociateRq {
  readonly type: 'A-ASSOCIATE-RQ';
  readonly protocolVersion: number;
  readonly calledAeTitle: string;
  readonly callingAeTitle: string;
  readonly applicationContext: string;
  readonly presentationContexts: readonly PresentationContextRq[];
  readonly userInformation: UserInformation;
}

export interface AAssociateAc {
  readonly type: 'A-ASSOCIATE-AC';
  readonly protocolVersion: number;
  readonly calledAeTitle: string;
  readonly callingAeTitle: string;
  readonly applicationContext: string;
  readonly presentationContexts: readonly PresentationContextAc[];
  readonly userInformation: UserInformation;
}

/** PS3.8 Table 9-21. result 1 permanent, 2 transient; source 1 user, 2 provider (ACSE), 3 provider (presentation). */
export interface AAssociateRj {
  readonly type: 'A-ASSOCIATE-RJ';
  readonly result: 1 | 2;
  readonly source: 1 | 2 | 3;
  readonly reason: number;
}

/** One presentation data value: a fragment of a command or dataset for one presentation context. */
export interface Pdv {
  readonly contextId: number;
  readonly command: boolean;
  readonly last: boolean;
  readonly data: Uint8Array;
}

export interface PDataTf {
  readonly type: 'P-DATA-TF';
  readonly pdvs: readonly Pdv[];
}

export interface AReleaseRq {
  readonly type: 'A-RELEASE-RQ';
}
export interface AReleaseRp {
  readonly type: 'A-RELEASE-RP';
}
/** source 0 service user, 2 service provider. */
export interface AAbort {
  readonly type: 'A-ABORT';
  readonly source: 0 | 1 | 2;
  readonly reason: number;
}

export type Pdu = AAssociateRq | AAssociateAc | AAssociateRj | PDataTf | AReleaseRq | AReleaseRp | AAbort;

// ----------------------------------------------------------------------------------------------- decoding

class Reader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly end: number = b.length,
  ) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.end)
      throw new PduError(`${what}: ${n} bytes needed, ${this.end - this.pos} left`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++];
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.b[this.pos] << 8) | this.b[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  ascii(n: number, what: string): string {
    let s = '';
    for (const c of this.bytes(n, what)) s += String.fromCharCode(c);
    return s;
  }
}

/** UIDs in PDUs may be padded with a NUL; AE titles with spaces. */
function uidText(s: string): string {
  return s.replace(/\0+$/, '');
}

function checkUid(uid: string, what: string): string {
  if (!isUid(uid)) {
    throw new PduError(`${what} is not a valid UID`, AbortReason.InvalidPduParameterValue);
  }
  return uid;
}

function decodeUserInformation(r: Reader, end: number): UserInformation {
  const out: {
    -readonly [K in keyof UserInformation]: UserInformation[K];
  } = {};
  const roles: RoleSelection[] = [];
  const extended: ExtendedNegotiation[] = [];
  const common: CommonExtendedNegotiation[] = [];
  while (r.pos < end) {
    const type = r.u8('user information sub-item type');
    r.u8('reserved');
    const len = r.u16('user information sub-item length');
    if (r.pos + len > end)
      throw new PduError(`user information sub-item 0x${type.toString(16)} runs past its item`);
    const sub = new Reader(r.b, r.pos + len);
    sub.pos = r.pos;
    switch (type) {
      case 0x51:
        if (len !== 4) throw new PduError('maximum length sub-item must be 4 bytes long');
        out.maxPduLength = sub.u32('maximum length');
        break;
      case 0x52:
        out.implementationClassUid = checkUid(
          uidText(sub.ascii(len, 'implementation class UID')),
          'implementation class UID',
        );
        break;
      case 0x55:
        out.implementationVersionName = sub.ascii(len, 'implementation version name').trim();
        break;
      case 0x53:
        if (len !== 4) throw new PduError('asynchronous operations window sub-item must be 4 bytes long');
        out.asyncOps = { invoked: sub.u16('operations invoked'), performed: sub.u16('operations performed') };
        break;
      case 0x54: {
        const n = sub.u16('SOP class UID length');
        const sopClassUid = uidText(sub.ascii(n, 'SOP class UID'));
        roles.push({ sopClassUid, scu: sub.u8('SCU role') === 1, scp: sub.u8('SCP role') === 1 });
        break;
      }
      case 0x56: {
        const n = sub.u16('SOP class UID length');
        const sopClassUid = uidText(sub.ascii(n, 'SOP class UID'));
        extended.push({
          sopClassUid,
          info: sub.bytes(r.pos + len - sub.pos, 'service class application information'),
        });
        break;
      }
      case 0x57: {
        const n = sub.u16('SOP class UID length');
        const sopClassUid = uidText(sub.ascii(n, 'SOP class UID'));
        const m = sub.u16('service class UID length');
        const serviceClassUid = uidText(sub.ascii(m, 'service class UID'));
        const k = sub.u16('related general SOP class identification length');
        const relEnd = sub.pos + k;
        const related: string[] = [];
        while (sub.pos < relEnd) {
          const l = sub.u16('related general SOP class UID length');
          related.push(uidText(sub.ascii(l, 'related general SOP class UID')));
        }
        common.push({ sopClassUid, serviceClassUid, relatedGeneralSopClasses: related });
        break;
      }
      case 0x58: {
        const idType = sub.u8('user identity type');
        const positive = sub.u8('positive response requested') === 1;
        const p = sub.u16('primary field length');
        const primary = sub.bytes(p, 'primary field');
        const s = sub.u16('secondary field length');
        const secondary = sub.bytes(s, 'secondary field');
        out.userIdentity = { type: idType, positiveResponseRequested: positive, primary, secondary };
        break;
      }
      case 0x59: {
        const n = sub.u16('server response length');
        out.userIdentityResponse = sub.bytes(n, 'server response');
        break;
      }
      default:
        // PS3.7 D.3.3: sub-items a receiver does not know are ignored.
        break;
    }
    r.pos += len;
  }
  if (roles.length) out.roles = roles;
  if (extended.length) out.extended = extended;
  if (common.length) out.commonExtended = common;
  return out;
}

function decodeAssociate(body: Reader, rq: boolean): AAssociateRq | AAssociateAc {
  const protocolVersion = body.u16('protocol version');
  body.u16('reserved');
  const calledAeTitle = body.ascii(16, 'called AE title').trim();
  const callingAeTitle = body.ascii(16, 'calling AE title').trim();
  body.bytes(32, 'reserved');
  let applicationContext = '';
  const rqContexts: PresentationContextRq[] = [];
  const acContexts: PresentationContextAc[] = [];
  let userInformation: UserInformation | undefined;
  while (body.pos < body.end) {
    const type = body.u8('item type');
    body.u8('reserved');
    const len = body.u16('item length');
    if (body.pos + len > body.end)
      throw new PduError(`item 0x${type.toString(16)} runs past the end of the PDU`);
    const end = body.pos + len;
    const item = new Reader(body.b, end);
    item.pos = body.pos;
    switch (type) {
      case 0x10:
        applicationContext = uidText(item.ascii(len, 'application context name'));
        break;
      case 0x20: {
        if (!rq)
          throw new PduError(
            'presentation context RQ item in an A-ASSOCIATE-AC',
            AbortReason.UnexpectedPduParameter,
          );
        const id = item.u8('presentation context ID');
        item.bytes(3, 'reserved');
        let abstractSyntax = '';
        const transferSyntaxes: string[] = [];
        while (item.pos < end) {
          const st = item.u8('sub-item type');
          item.u8('reserved');
          const sl = item.u16('sub-item length');
          const v = uidText(item.ascii(sl, 'syntax name'));
          if (st === 0x30) abstractSyntax = v;
          else if (st === 0x40) transferSyntaxes.push(v);
          else
            throw new PduError(
              `unknown presentation context sub-item 0x${st.toString(16)}`,
              AbortReason.UnrecognizedPduParameter,
            );
        }
        if (id % 2 === 0) throw new PduError(`presentation context ID ${id} is not odd`);
        if (!abstractSyntax || transferSyntaxes.length === 0) {
          throw new PduError(`presentation context ${id} lacks an abstract or transfer syntax`);
        }
        rqContexts.push({ id, abstractSyntax, transferSyntaxes });
        break;
      }
      case 0x21: {
        if (rq)
          throw new PduError(
            'presentation context AC item in an A-ASSOCIATE-RQ',
            AbortReason.UnexpectedPduParameter,
          );
        const id = item.u8('presentation context ID');
        item.u8('reserved');
        const result = item.u8('result/reason');
        item.u8('reserved');
        let transferSyntax = '';
        while (item.pos < end) {
          const st = item.u8('sub-item type');
          item.u8('reserved');
          const sl = item.u16('sub-item length');
          const v = uidText(item.ascii(sl, 'transfer syntax name'));
          if (st === 0x40) transferSyntax = v;
        }
        if (result > 4) throw new PduError(`presentation context result ${result} is not defined`);
        acContexts.push({ id, result: result as PresentationContextAc['result'], transferSyntax });
        break;
      }
      case 0x50:
        userInformation = decodeUserInformation(item, end);
        break;
      default:
        throw new PduError(`unknown item type 0x${type.toString(16)}`, AbortReason.UnrecognizedPduParameter);
    }
    body.pos = end;
  }
  if (!applicationContext) throw new PduError('no application context item');
  if (!userInformation) throw new PduError('no user information item');
  const common = { protocolVersion, calledAeTitle, callingAeTitle, applicationContext, userInformation };
  return rq
    ? { type: 'A-ASSOCIATE-RQ', ...common, presentationContexts: rqContexts }
    : { type: 'A-ASSOCIATE-AC', ...common, presentationContexts: acContexts };
}

/** Decodes one whole PDU (6-byte header and body). */
export function decodePdu(pdu: Uint8Array): Pdu {
  const r = new Reader(pdu);
  const type = r.u8('PDU type');
  r.u8('reserved');
  const length = r.u32('PDU length');
  if (length !== pdu.length - 6)
    throw new PduError(`PDU length ${length} does not match the ${pdu.length - 6} bytes given`);
  const body = new Reader(pdu);
  body.pos = 6;
  switch (type) {
    case PduType.AAssociateRq:
      return decodeAssociate(body, true);
    case PduType.AAssociateAc:
      return decodeAssociate(body, false);
    case PduType.AAssociateRj: {
      if (length !== 4) throw new PduError('A-ASSOCIATE-RJ must be 4 bytes long');
      body.u8('reserved');
      const result = body.u8('result');
      const source = body.u8('source');
      const reason = body.u8('reason');
      if ((result !== 1 && result !== 2) || source < 1 || source > 3)
        throw new PduError('A-ASSOCIATE-RJ with undefined values');
      return { type: 'A-ASSOCIATE-RJ', result, source: source as 1 | 2 | 3, reason };
    }
    case PduType.PDataTf: {
      const pdvs: Pdv[] = [];
      while (body.pos < body.end) {
        const len = body.u32('PDV item length');
        if (len < 2) throw new PduError(`PDV item length ${len} is too short`);
        body.need(len, 'PDV item');
        const contextId = body.u8('presentation context ID');
        const header = body.u8('message control header');
        pdvs.push({
          contextId,
          command: (header & 1) === 1,
          last: (header & 2) === 2,
          data: body.bytes(len - 2, 'PDV data'),
        });
      }
      if (pdvs.length === 0) throw new PduError('P-DATA-TF without a PDV item');
      return { type: 'P-DATA-TF', pdvs };
    }
    case PduType.AReleaseRq:
    case PduType.AReleaseRp:
      if (length !== 4) throw new PduError('A-RELEASE PDUs must be 4 bytes long');
      return { type: type === PduType.AReleaseRq ? 'A-RELEASE-RQ' : 'A-RELEASE-RP' };
    case PduType.AAbort: {
      if (length !== 4) throw new PduError('A-ABORT must be 4 bytes long');
      body.u16('reserved');
      const source = body.u8('source');
      const reason = body.u8('reason');
      return { type: 'A-ABORT', source: (source === 2 ? 2 : source === 1 ? 1 : 0) as 0 | 1 | 2, reason };
    }
    default:
      throw new PduError(`unknown PDU type 0x${type.toString(16)}`, AbortReason.UnrecognizedPdu);
  }
}

// ----------------------------------------------------------------------------------------------- encoding

class Writer {
  private parts: number[] = [];
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    this.parts.push((v >> 8) & 0xff, v & 0xff);
    return this;
  }
  u32(v: number): this {
    this.parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }
  bytes(b: Uint8Array | readonly number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  ascii(s: string): this {
    for (let i = 0; i < s.length; i++) this.parts.push(s.charCodeAt(i) & 0xff);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function item(type: number, body: Writer | Uint8Array | string): Writer {
  const w = new Writer();
  const b =
    typeof body === 'string' ? new Writer().ascii(body).done() : body instanceof Writer ? body.done() : body;
  return w.u8(type).u8(0).u16(b.length).bytes(b);
}

function aeField(title: string): string {
  return title.slice(0, 16).padEnd(16, ' ');
}

function encodeUserInformation(u: UserInformation): Writer {
  const w = new Writer();
  if (u.maxPduLength !== undefined) w.bytes(item(0x51, new Writer().u32(u.maxPduLength)).done());
  if (u.implementationClassUid) w.bytes(item(0x52, u.implementationClassUid).done());
  if (u.asyncOps) w.bytes(item(0x53, new Writer().u16(u.asyncOps.invoked).u16(u.asyncOps.performed)).done());
  for (const r of u.roles ?? []) {
    w.bytes(
      item(
        0x54,
        new Writer()
          .u16(r.sopClassUid.length)
          .ascii(r.sopClassUid)
          .u8(r.scu ? 1 : 0)
          .u8(r.scp ? 1 : 0),
      ).done(),
    );
  }
  if (u.implementationVersionName) w.bytes(item(0x55, u.implementationVersionName).done());
  for (const x of u.extended ?? []) {
    w.bytes(item(0x56, new Writer().u16(x.sopClassUid.length).ascii(x.sopClassUid).bytes(x.info)).done());
  }
  for (const x of u.commonExtended ?? []) {
    const rel = new Writer();
    for (const g of x.relatedGeneralSopClasses) rel.u16(g.length).ascii(g);
    const relBytes = rel.done();
    w.bytes(
      item(
        0x57,
        new Writer()
          .u16(x.sopClassUid.length)
          .ascii(x.sopClassUid)
          .u16(x.serviceClassUid.length)
          .ascii(x.serviceClassUid)
          .u16(relBytes.length)
          .bytes(relBytes),
      ).done(),
    );
  }
  if (u.userIdentity) {
    const id = u.userIdentity;
    w.bytes(
      item(
        0x58,
        new Writer()
          .u8(id.type)
          .u8(id.positiveResponseRequested ? 1 : 0)
          .u16(id.primary.length)
          .bytes(id.primary)
          .u16(id.secondary.length)
          .bytes(id.secondary),
      ).done(),
    );
  }
  if (u.userIdentityResponse)
    w.bytes(item(0x59, new Writer().u16(u.userIdentityResponse.length).bytes(u.userIdentityResponse)).done());
  return w;
}

function pdu(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(2, body.length);
  out.set(body, 6);
  return out;
}

export function encodePdu(p: Pdu): Uint8Array {
  switch (p.type) {
    case 'A-ASSOCIATE-RQ':
    case 'A-ASSOCIATE-AC': {
      const w = new Writer()
        .u16(p.protocolVersion)
        .u16(0)
        .ascii(aeField(p.calledAeTitle))
        .ascii(aeField(p.callingAeTitle))
        .bytes(new Uint8Array(32));
      w.bytes(item(0x10, p.applicationContext).done());
      if (p.type === 'A-ASSOCIATE-RQ') {
        for (const pc of p.presentationContexts) {
          const body = new Writer().u8(pc.id).u8(0).u8(0).u8(0);
          body.bytes(item(0x30, pc.abstractSyntax).done());
          for (const ts of pc.transferSyntaxes) body.bytes(item(0x40, ts).done());
          w.bytes(item(0x20, body).done());
        }
      } else {
        for (const pc of p.presentationContexts) {
          const body = new Writer().u8(pc.id).u8(0).u8(pc.result).u8(0);
          body.bytes(item(0x40, pc.transferSyntax).done());
          w.bytes(item(0x21, body).done());
        }
      }
      w.bytes(item(0x50, encodeUserInformation(p.userInformation)).done());
      return pdu(p.type === 'A-ASSOCIATE-RQ' ? PduType.AAssociateRq : PduType.AAssociateAc, w.done());
    }
    case 'A-ASSOCIATE-RJ':
      return pdu(PduType.AAssociateRj, Uint8Array.of(0, p.result, p.source, p.reason));
    case 'P-DATA-TF': {
      let n = 0;
      for (const v of p.pdvs) n += 6 + v.data.length;
      const body = new Uint8Array(n);
      const dv = new DataView(body.buffer);
      let o = 0;
      for (const v of p.pdvs) {
        dv.setUint32(o, v.data.length + 2);
        body[o + 4] = v.contextId;
        body[o + 5] = (v.command ? 1 : 0) | (v.last ? 2 : 0);
        body.set(v.data, o + 6);
        o += 6 + v.data.length;
      }
      return pdu(PduType.PDataTf, body);
    }
    case 'A-RELEASE-RQ':
      return pdu(PduType.AReleaseRq, new Uint8Array(4));
    case 'A-RELEASE-RP':
      return pdu(PduType.AReleaseRp, new Uint8Array(4));
    case 'A-ABORT':
      return pdu(PduType.AAbort, Uint8Array.of(0, 0, p.source, p.reason));
  }
}

/** The header of a P-DATA-TF carrying one PDV of `dataLength` bytes (for streaming large values). */
export function pDataHeader(
  contextId: number,
  command: boolean,
  last: boolean,
  dataLength: number,
): Uint8Array {
  const h = new Uint8Array(12);
  const dv = new DataView(h.buffer);
  h[0] = PduType.PDataTf;
  dv.setUint32(2, dataLength + 6);
  dv.setUint32(6, dataLength + 2);
  h[10] = contextId;
  h[11] = (command ? 1 : 0) | (last ? 2 : 0);
  return h;
}
