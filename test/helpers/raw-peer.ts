import { connect, type Socket } from 'node:net';
import { type AAssociateRq, decodePdu, encodePdu, type Pdu } from '../../src/core/ul/pdu.js';

/** An A-ASSOCIATE-RQ to `LANTERN` from `calling` (Verification in implicit VR by default). */
export function associateRq(
  calling = 'STORESCU',
  contexts: AAssociateRq['presentationContexts'] = [
    { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
  ],
): AAssociateRq {
  return {
    type: 'A-ASSOCIATE-RQ',
    protocolVersion: 1,
    calledAeTitle: 'LANTERN',
    callingAeTitle: calling,
    applicationContext: '1.2.840.10008.3.1.1.1',
    presentationContexts: contexts,
    userInformation: { maxPduLength: 16384, implementationClassUid: '2.25.1' },
  };
}

/** A DICOM peer that writes raw bytes and reads whole PDUs: for the cases no well-behaved tool sends. */
export class RawPeer {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  private static readonly open$ = new Set<RawPeer>();

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('close', () => {
      this.closed = true;
      RawPeer.open$.delete(this);
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('error', () => undefined);
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((ok, fail) => {
      const s = connect(port, '127.0.0.1', () => {
        const p = new RawPeer(s);
        RawPeer.open$.add(p);
        ok(p);
      });
      s.once('error', fail);
      s.setNoDelay(true);
    });
  }

  /** Opens a connection and associates; fails unless the answer is A-ASSOCIATE-AC. */
  static async associated(port: number, rq: AAssociateRq = associateRq()): Promise<RawPeer> {
    const p = await RawPeer.open(port);
    p.write(encodePdu(rq));
    const answer = await p.next();
    if (answer?.type !== 'A-ASSOCIATE-AC') throw new Error(`association not accepted: ${answer?.type}`);
    return p;
  }

  /** Ends every connection a test left open. */
  static destroyAll(): void {
    for (const p of RawPeer.open$) p.destroy();
  }

  write(b: Uint8Array): void {
    if (!this.closed) this.sock.write(b);
  }

  /** The next PDU, or undefined when the connection closed first. */
  async next(timeoutMs = 5000): Promise<Pdu | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 6) {
        const len = this.buf.readUInt32BE(2);
        if (this.buf.length >= 6 + len) {
          const pdu = this.buf.subarray(0, 6 + len);
          this.buf = this.buf.subarray(6 + len);
          return decodePdu(pdu);
        }
      }
      if (this.closed) return undefined;
      if (Date.now() > until) throw new Error('no PDU in time');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  destroy(): void {
    this.sock.destroy();
  }

  /** Closes the connection with a TCP reset, as a peer that crashed or lost power. */
  reset(): void {
    this.sock.resetAndDestroy();
  }
}
