import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandField, encodeCommand } from '../../core/dimse/command.js';
import { encodePdu } from '../../core/ul/pdu.js';
import { Association, type DimseHandler } from './association.js';

/**
 * The idle rule: an association is aborted when the peer makes no progress for the idle time while we wait
 * for it, never while it is taking what we send, however long that takes. A slow link cannot be made with
 * real sockets here (loopback's kernel buffers take megabytes at once), so the transport is a stream whose
 * reader the test drives: it takes the bytes written a little at a time, or stops taking them.
 */
class SlowLink extends Duplex {
  remoteAddress = '127.0.0.1';
  private held: (() => void)[] = [];
  taking = true;
  constructor() {
    super({ writableHighWaterMark: 16 * 1024, read() {} });
    const tick = setInterval(() => {
      if (this.taking) this.held.splice(0, 4).forEach((done) => done());
    }, 20);
    this.once('close', () => clearInterval(tick));
  }
  override _write(_chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.held.push(done);
  }
  setNoDelay(): this {
    return this;
  }
  /** Bytes from the peer. */
  send(b: Uint8Array): void {
    this.push(Buffer.from(b));
  }
}

const CT = '1.2.840.10008.5.1.4.1.1.2';
const ECHO = '1.2.840.10008.1.1';

describe('the association idle rule', () => {
  it('a slow peer taking a large data set is not aborted; one that stops taking it is', async () => {
    const link = new SlowLink();
    // C-ECHO, for this test, makes the association send the peer 8 MiB (as a C-GET sub-operation would).
    let sent: Promise<unknown> | undefined;
    const handler: DimseHandler = async (_req, assoc) => {
      async function* big() {
        for (let i = 0; i < 128; i++) yield new Uint8Array(64 * 1024);
      }
      sent = assoc.request!(
        CT,
        undefined,
        { CommandField: CommandField.C_STORE_RQ, AffectedSOPClassUID: CT },
        big(),
        {
          peerIsScp: false,
        },
      );
      return { status: 0 };
    };
    const assoc = Association.accept(link as unknown as Socket, {
      aeTitle: 'LANTERN',
      capabilities: { transferSyntaxesFor: () => new Set(['1.2.840.10008.1.2']) },
      handlers: new Map([[CommandField.C_ECHO_RQ, handler]]),
      admit: async () => ({}),
      maxPduLength: 16384,
      artimMs: 1000,
      idleMs: 300,
      log: pino({ level: 'silent' }),
      implementationClassUid: '2.25.1',
      implementationVersionName: 'TEST',
    });
    link.send(
      encodePdu({
        type: 'A-ASSOCIATE-RQ',
        protocolVersion: 1,
        calledAeTitle: 'LANTERN',
        callingAeTitle: 'PEER',
        applicationContext: '1.2.840.10008.3.1.1.1',
        presentationContexts: [
          { id: 1, abstractSyntax: ECHO, transferSyntaxes: ['1.2.840.10008.1.2'] },
          { id: 3, abstractSyntax: CT, transferSyntaxes: ['1.2.840.10008.1.2'] },
        ],
        userInformation: { maxPduLength: 16384, implementationClassUid: '2.25.2' },
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(assoc.currentState).toBe('Sta6');
    const echo = encodeCommand({
      CommandField: CommandField.C_ECHO_RQ,
      MessageID: 1,
      AffectedSOPClassUID: ECHO,
      CommandDataSetType: 0x0101,
    });
    link.send(
      encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId: 1, command: true, last: true, data: echo }] }),
    );
    // The peer takes about 3 MiB a second and says nothing: five idle times pass, the sending goes on.
    await new Promise((r) => setTimeout(r, 1500));
    expect(sent).toBeDefined();
    expect(assoc.currentState).toBe('Sta6');
    // It stops taking: one idle time later the association is aborted.
    link.taking = false;
    await new Promise((r) => setTimeout(r, 800));
    expect(assoc.currentState).not.toBe('Sta6');
    link.destroy();
  });
});

describe('the asynchronous operations window (PS3.7 D.3.3.3)', () => {
  /** An acceptor on a real socket whose C-STORE handler takes a while; it counts requests performed at once. */
  async function acceptor() {
    const { createServer } = await import('node:net');
    let now = 0;
    let most = 0;
    const store: DimseHandler = async (req) => {
      now++;
      most = Math.max(most, now);
      let bytes = 0;
      for await (const c of req.dataset!) bytes += c.length;
      await new Promise((r) => setTimeout(r, 30));
      now--;
      return { status: bytes === 20_000 ? 0 : 0xa700 };
    };
    const server = createServer((socket) => {
      Association.accept(socket, {
        aeTitle: 'LANTERN',
        capabilities: { transferSyntaxesFor: () => new Set(['1.2.840.10008.1.2.1']) },
        handlers: new Map([[CommandField.C_STORE_RQ, store]]),
        admit: async () => ({}),
        maxPduLength: 16384,
        artimMs: 2000,
        idleMs: 5000,
        log: pino({ level: 'silent' }),
        implementationClassUid: '2.25.1',
        implementationVersionName: 'TEST',
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    return { port, most: () => most, close: () => new Promise((r) => server.close(r)) };
  }

  /** Sends `n` C-STOREs at once (more than any window) and resolves with their statuses. */
  async function storeAtOnce(port: number, n: number, asyncOperations?: number) {
    const a = await Association.connect({
      host: '127.0.0.1',
      port,
      callingAeTitle: 'SCU',
      calledAeTitle: 'LANTERN',
      contexts: [{ abstractSyntax: CT, transferSyntaxes: ['1.2.840.10008.1.2.1'] }],
      implementationClassUid: '2.25.2',
      implementationVersionName: 'TEST',
      ...(asyncOperations ? { asyncOperations } : {}),
    });
    const ctx = a.acceptedContext(CT)!;
    const one = async (i: number) => {
      let status = -1;
      async function* data() {
        yield new Uint8Array(10_000).fill(i);
        yield new Uint8Array(10_000).fill(i);
      }
      for await (const r of a.request(
        ctx.id,
        {
          CommandField: CommandField.C_STORE_RQ,
          AffectedSOPClassUID: CT,
          AffectedSOPInstanceUID: `2.25.${i}`,
        },
        data(),
      ))
        status = Number(r.command.Status);
      return status;
    };
    const statuses = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
    const window = a.operationsWindow;
    await a.release();
    return { statuses, window };
  }

  it('negotiated: up to the window are performed at once, each data set whole', async () => {
    const scp = await acceptor();
    try {
      const { statuses, window } = await storeAtOnce(scp.port, 12, 4);
      expect(window).toBe(4);
      expect(statuses).toEqual(Array(12).fill(0));
      expect(scp.most()).toBe(4);
    } finally {
      await scp.close();
    }
  });

  it('not negotiated: a peer sending ahead anyway is served one operation at a time', async () => {
    const scp = await acceptor();
    try {
      const { statuses, window } = await storeAtOnce(scp.port, 6);
      expect(window).toBe(1);
      expect(statuses).toEqual(Array(6).fill(0));
      expect(scp.most()).toBe(1);
    } finally {
      await scp.close();
    }
  });

  it('a window larger than ours is answered with ours (16)', async () => {
    const scp = await acceptor();
    try {
      const { statuses, window } = await storeAtOnce(scp.port, 20, 100);
      expect(window).toBe(16);
      expect(statuses).toEqual(Array(20).fill(0));
      expect(scp.most()).toBe(16);
    } finally {
      await scp.close();
    }
  });
});
