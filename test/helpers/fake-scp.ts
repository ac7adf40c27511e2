import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { decodePdu, encodePdu, type Pdu } from '../../src/core/ul/pdu.js';

/**
 * A storage SCP that misbehaves on purpose, for the cases no real peer produces on demand: it accepts every
 * association, and answers each request's complete data set as `answer` says: with a command set that
 * cannot be decoded ('garbage'), or never ('silent'); it announces `maxPduLength` as its maximum PDU length.
 */
export interface FakeScp {
  readonly port: number;
  /** Requests whose data set arrived completely. */
  readonly received: () => number;
  close(): Promise<void>;
}

export async function fakeScp(answer: 'garbage' | 'silent', maxPduLength = 16384): Promise<FakeScp> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 6 && buf.length >= 6 + buf.readUInt32BE(2)) {
        const len = 6 + buf.readUInt32BE(2);
        const pdu = decodePdu(buf.subarray(0, len));
        buf = buf.subarray(len);
        on(s, pdu);
      }
    });
  });
  const on = (s: Socket, pdu: Pdu) => {
    if (pdu.type === 'A-ASSOCIATE-RQ') {
      s.write(
        encodePdu({
          type: 'A-ASSOCIATE-AC',
          protocolVersion: 1,
          calledAeTitle: pdu.calledAeTitle,
          callingAeTitle: pdu.callingAeTitle,
          applicationContext: pdu.applicationContext,
          presentationContexts: pdu.presentationContexts.map((pc) => ({
            id: pc.id,
            result: 0 as const,
            transferSyntax: pc.transferSyntaxes[0],
          })),
          userInformation: { maxPduLength, implementationClassUid: '2.25.2' },
        }),
      );
    } else if (pdu.type === 'P-DATA-TF') {
      for (const pdv of pdu.pdvs) {
        if (pdv.command || !pdv.last) continue;
        received++;
        if (answer === 'garbage') {
          // A command set whose first element claims more bytes than the set holds.
          const bad = Buffer.from([0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x01, 0x02]);
          s.write(
            encodePdu({
              type: 'P-DATA-TF',
              pdvs: [{ contextId: pdv.contextId, command: true, last: true, data: bad }],
            }),
          );
        }
      }
    } else if (pdu.type === 'A-RELEASE-RQ') {
      s.write(encodePdu({ type: 'A-RELEASE-RP' }));
    }
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
