import { describe, expect, it } from 'vitest';
import {
  ABORT_PROVIDER_UNEXPECTED,
  ASSOCIATE_RJ_CALLING_AE,
  ASSOCIATE_RQ_ECHOSCU,
  P_DATA_COMMAND,
  RELEASE_RP,
  RELEASE_RQ,
} from '../../../test/fixtures/pdus.js';
import {
  type AAssociateAc,
  type AAssociateRq,
  AbortReason,
  decodePdu,
  encodePdu,
  pDataHeader,
  PduError,
} from './pdu.js';

const bytes = (s: string) => Uint8Array.from(Buffer.from(s));

describe('PDU codecs (PS3.8 9.3)', () => {
  it('decodes the A-ASSOCIATE-RQ echoscu sends', () => {
    const rq = decodePdu(ASSOCIATE_RQ_ECHOSCU) as AAssociateRq;
    expect(rq).toMatchObject({
      type: 'A-ASSOCIATE-RQ',
      protocolVersion: 1,
      calledAeTitle: 'ANY-SCP',
      callingAeTitle: 'ECHOSCU',
      applicationContext: '1.2.840.10008.3.1.1.1',
      presentationContexts: [
        { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
      ],
      userInformation: {
        maxPduLength: 16384,
        implementationClassUid: '1.2.276.0.7230010.3.0.3.6.7',
        implementationVersionName: 'OFFIS_DCMTK_367',
      },
    });
  });

  it('encodes every PDU to its fixture bytes', () => {
    expect(encodePdu({ type: 'A-ASSOCIATE-RJ', result: 1, source: 1, reason: 3 })).toEqual(
      ASSOCIATE_RJ_CALLING_AE,
    );
    expect(encodePdu({ type: 'A-RELEASE-RQ' })).toEqual(RELEASE_RQ);
    expect(encodePdu({ type: 'A-RELEASE-RP' })).toEqual(RELEASE_RP);
    expect(encodePdu({ type: 'A-ABORT', source: 2, reason: AbortReason.UnexpectedPdu })).toEqual(
      ABORT_PROVIDER_UNEXPECTED,
    );
    expect(
      encodePdu({
        type: 'P-DATA-TF',
        pdvs: [{ contextId: 1, command: true, last: true, data: Uint8Array.of(0, 0, 0, 0, 4, 0, 0, 0) }],
      }),
    ).toEqual(P_DATA_COMMAND);
    expect(pDataHeader(1, true, true, 8)).toEqual(P_DATA_COMMAND.subarray(0, 12));
  });

  it('round-trips associations with every user information sub-item', () => {
    const rq = decodePdu(ASSOCIATE_RQ_ECHOSCU) as AAssociateRq;
    const full: AAssociateRq = {
      ...rq,
      userInformation: {
        ...rq.userInformation,
        asyncOps: { invoked: 4, performed: 2 },
        roles: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', scu: false, scp: true }],
        extended: [{ sopClassUid: '1.2.840.10008.5.1.4.1.2.2.1', info: Uint8Array.of(1, 1, 0) }],
        commonExtended: [
          {
            sopClassUid: '1.2.840.10008.5.1.4.1.1.2.1',
            serviceClassUid: '1.2.840.10008.4.2',
            relatedGeneralSopClasses: ['1.2.840.10008.5.1.4.1.1.2'],
          },
        ],
        userIdentity: {
          type: 2,
          positiveResponseRequested: true,
          primary: bytes('user'),
          secondary: bytes('pass'),
        },
      },
    };
    expect(decodePdu(encodePdu(full))).toEqual(full);
    const ac: AAssociateAc = {
      type: 'A-ASSOCIATE-AC',
      protocolVersion: 1,
      calledAeTitle: 'LANTERN',
      callingAeTitle: 'ECHOSCU',
      applicationContext: '1.2.840.10008.3.1.1.1',
      presentationContexts: [
        { id: 1, result: 0, transferSyntax: '1.2.840.10008.1.2' },
        { id: 3, result: 3, transferSyntax: '1.2.840.10008.1.2' },
      ],
      userInformation: {
        maxPduLength: 0,
        implementationClassUid: '2.25.1',
        userIdentityResponse: bytes('ok'),
      },
    };
    expect(decodePdu(encodePdu(ac))).toEqual(ac);
  });

  it('rejects malformed PDUs with the A-ABORT reason PS3.8 gives', () => {
    const bad = (bytes: Uint8Array, reason: number, msg: RegExp) => {
      try {
        decodePdu(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(PduError);
        expect((e as PduError).reason).toBe(reason);
        expect((e as Error).message).toMatch(msg);
        return;
      }
      throw new Error('accepted');
    };
    bad(Uint8Array.of(0x09, 0, 0, 0, 0, 0), AbortReason.UnrecognizedPdu, /unknown PDU type 0x9/);
    bad(
      ASSOCIATE_RQ_ECHOSCU.subarray(0, 100),
      AbortReason.InvalidPduParameterValue,
      /length 205 does not match/,
    );
    const unknownItem = Uint8Array.from(ASSOCIATE_RQ_ECHOSCU);
    unknownItem[74] = 0x33; // the application context item type
    bad(unknownItem, AbortReason.UnrecognizedPduParameter, /unknown item type 0x33/);
    const longItem = Uint8Array.from(ASSOCIATE_RQ_ECHOSCU);
    longItem[77] = 0xff; // application context length runs past the PDU
    bad(longItem, AbortReason.InvalidPduParameterValue, /runs past the end/);
    bad(
      Uint8Array.of(0x04, 0, 0, 0, 0, 6, 0, 0, 0, 9, 1, 3),
      AbortReason.InvalidPduParameterValue,
      /PDV item: 9 bytes needed/,
    );
    bad(
      Uint8Array.of(0x07, 0, 0, 0, 0, 2, 0, 0),
      AbortReason.InvalidPduParameterValue,
      /A-ABORT must be 4 bytes/,
    );
  });
});
