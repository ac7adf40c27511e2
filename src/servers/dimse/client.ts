import { connect as tcpConnect, type Socket } from 'node:net';
import {
  type Command,
  CommandField,
  decodeCommand,
  encodeCommand,
  hasDataset,
  NO_DATASET,
} from '../../core/dimse/command.js';
import { statusCategory } from '../../core/dimse/status.js';
import {
  type AAssociateAc,
  AbortReason,
  DICOM_APPLICATION_CONTEXT,
  decodePdu,
  encodePdu,
  type Pdu,
  pDataHeader,
} from '../../core/ul/pdu.js';
import { type Event, nextState, type State, transition } from '../../core/ul/state-machine.js';
import { FramerError, PduFramer } from './pdu-framer.js';

export interface ProposedContext {
  readonly abstractSyntax: string;
  readonly transferSyntaxes: readonly string[];
}

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  readonly contexts: readonly ProposedContext[];
  readonly maxPduLength?: number;
  /** How long to wait for the association to be accepted, and for a release to be answered (10 s). */
  readonly timeoutMs?: number;
  /**
   * How long a request waits for its next response once it is sent (60 s): a peer that never answers fails
   * the request instead of holding it for ever.
   */
  readonly responseTimeoutMs?: number;
  /** The largest data set accepted in one message from the peer (default: no limit; the CLI's C-GET). */
  readonly maxDatasetBytes?: number;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** SCP/SCU role selection to propose (e.g. SCP role for storage classes, to receive C-GET results). */
  readonly roles?: readonly { sopClassUid: string; scu: boolean; scp: boolean }[];
  /**
   * Requests the peer sends us on this association (C-STORE during C-GET, N-EVENT-REPORT for storage
   * commitment): the handler gets the command and data set and returns the response status.
   */
  readonly onRequest?: (
    command: Command,
    dataset: Uint8Array | undefined,
    context: { id: number; abstractSyntax: string; transferSyntax: string },
  ) => Promise<{ status: number; fields?: Command }>;
}

export class AssociationError extends Error {
  constructor(
    message: string,
    readonly rejection?: { result: number; source: number; reason: number },
  ) {
    super(message);
  }
}

export interface DimseMessage {
  readonly command: Command;
  readonly dataset?: Uint8Array;
}

interface Waiter {
  readonly messageId: number;
  readonly push: (m: DimseMessage) => void;
  readonly fail: (e: Error) => void;
}

const MAX_COMMAND = 64 * 1024;

const REJECT_REASONS: Record<string, string> = {
  '1/1': 'no reason given',
  '1/2': 'application context name not supported',
  '1/3': 'calling AE title not recognized',
  '1/7': 'called AE title not recognized',
  '2/2': 'protocol version not supported',
  '3/1': 'temporary congestion',
  '3/2': 'local limit exceeded',
};

/**
 * The requestor side of an association (PS3.8 9.2, driven by the same transition table as the acceptor):
 * connect, negotiate, send requests and read their responses, release. Used by the CLI and by C-MOVE.
 */
export class ClientAssociation {
  private state: State = 'Sta1';
  private readonly framer: PduFramer;
  private ac: AAssociateAc | undefined;
  private nextMessageId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private commandBuf: Uint8Array[] = [];
  private commandLen = 0;
  private datasetBuf: Uint8Array[] = [];
  private datasetLen = 0;
  private pendingCommand: Command | undefined;
  private settle: { resolve: (v: void) => void; reject: (e: Error) => void } | undefined;
  private peerMaxPdu = 0;
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: ClientOptions,
  ) {
    this.framer = new PduFramer(() => opts.maxPduLength ?? 262144);
  }

  /** Opens the association; rejects with AssociationError on A-ASSOCIATE-RJ, abort or timeout. */
  static connect(opts: ClientOptions): Promise<ClientAssociation> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      const c = new ClientAssociation(socket, opts);
      c.state = nextState(transition('Sta1', 'Evt1')!); // AE-1: Sta4
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new AssociationError(
            `no answer from ${opts.host}:${opts.port} within ${opts.timeoutMs ?? 10000} ms`,
          ),
        );
      }, opts.timeoutMs ?? 10000);
      c.settle = {
        resolve: () => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.once('connect', () => c.onConnect());
      socket.on('data', (d: Buffer) => c.onData(d));
      socket.on('error', (e) =>
        c.fail(new AssociationError(`connection to ${opts.host}:${opts.port} failed: ${e.message}`)),
      );
      socket.on('close', () => c.fail(new AssociationError('connection closed')));
    });
  }

  /** The transfer syntax accepted for an abstract syntax, if any. */
  acceptedContext(
    abstractSyntax: string,
    transferSyntax?: string,
  ): { id: number; transferSyntax: string } | undefined {
    for (const pc of this.ac?.presentationContexts ?? []) {
      if (pc.result !== 0) continue;
      const proposed = this.opts.contexts[(pc.id - 1) / 2];
      if (proposed?.abstractSyntax !== abstractSyntax) continue;
      if (transferSyntax && pc.transferSyntax !== transferSyntax) continue;
      return { id: pc.id, transferSyntax: pc.transferSyntax };
    }
    return undefined;
  }

  private onConnect(): void {
    this.event('Evt2');
    this.socket.write(
      encodePdu({
        type: 'A-ASSOCIATE-RQ',
        protocolVersion: 1,
        calledAeTitle: this.opts.calledAeTitle,
        callingAeTitle: this.opts.callingAeTitle,
        applicationContext: DICOM_APPLICATION_CONTEXT,
        presentationContexts: this.opts.contexts.map((c, i) => ({ id: 2 * i + 1, ...c })),
        userInformation: {
          maxPduLength: this.opts.maxPduLength ?? 262144,
          implementationClassUid: this.opts.implementationClassUid,
          implementationVersionName: this.opts.implementationVersionName,
          ...(this.opts.roles?.length ? { roles: this.opts.roles } : {}),
        },
      }),
    );
  }

  private event(evt: Event): boolean {
    const action = transition(this.state, evt);
    if (!action) {
      this.abort();
      return false;
    }
    this.state = nextState(action, { requestor: true, acceptable: true });
    return true;
  }

  private onData(chunk: Buffer): void {
    // Whatever the peer sends, a fault ends this association only (never the process).
    try {
      this.onBytes(chunk);
    } catch (e) {
      this.abort(AbortReason.NotSpecified);
      this.fail(new AssociationError(`protocol error: ${(e as Error).message}`));
    }
  }

  private onBytes(chunk: Buffer): void {
    let pdus: Uint8Array[];
    try {
      pdus = this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.abort(e instanceof FramerError ? AbortReason.InvalidPduParameterValue : AbortReason.NotSpecified);
      this.fail(new AssociationError(`protocol error: ${(e as Error).message}`));
      return;
    }
    for (const bytes of pdus) {
      let pdu: Pdu;
      try {
        pdu = decodePdu(bytes);
      } catch (e) {
        this.abort();
        this.fail(new AssociationError(`protocol error: ${(e as Error).message}`));
        return;
      }
      this.onPdu(pdu);
    }
  }

  private onPdu(pdu: Pdu): void {
    switch (pdu.type) {
      case 'A-ASSOCIATE-AC':
        if (!this.event('Evt3')) return;
        this.ac = pdu;
        this.peerMaxPdu = pdu.userInformation.maxPduLength ?? 0;
        this.settle?.resolve();
        this.settle = undefined;
        return;
      case 'A-ASSOCIATE-RJ': {
        this.event('Evt4');
        const why =
          REJECT_REASONS[`${pdu.source}/${pdu.reason}`] ?? `source ${pdu.source} reason ${pdu.reason}`;
        this.fail(
          new AssociationError(
            `association rejected (${pdu.result === 1 ? 'permanent' : 'transient'}): ${why}`,
            pdu,
          ),
        );
        this.socket.destroy();
        return;
      }
      case 'P-DATA-TF':
        if (!this.event('Evt10')) return;
        for (const pdv of pdu.pdvs) {
          if (pdv.command) {
            this.commandBuf.push(pdv.data);
            this.commandLen += pdv.data.length;
            if (this.commandLen > MAX_COMMAND) throw new Error('command set larger than 64 KiB');
            if (!pdv.last) continue;
            this.commandLen = 0;
            const command = decodeCommand(Buffer.concat(this.commandBuf));
            this.commandBuf = [];
            this.pendingContext = pdv.contextId;
            if (hasDataset(command)) this.pendingCommand = command;
            else this.deliver({ command });
          } else {
            this.datasetBuf.push(pdv.data);
            this.datasetLen += pdv.data.length;
            if (this.datasetLen > (this.opts.maxDatasetBytes ?? Infinity))
              throw new Error(`data set larger than ${this.opts.maxDatasetBytes} bytes`);
            if (!pdv.last) continue;
            this.datasetLen = 0;
            const dataset = Buffer.concat(this.datasetBuf);
            this.datasetBuf = [];
            const command = this.pendingCommand;
            this.pendingCommand = undefined;
            if (command) this.deliver({ command, dataset });
          }
        }
        return;
      case 'A-RELEASE-RP':
        this.event('Evt13');
        this.socket.end();
        this.release$?.();
        return;
      case 'A-ABORT':
        this.event('Evt16');
        this.fail(
          new AssociationError(
            `association aborted by the peer (source ${pdu.source}, reason ${pdu.reason})`,
          ),
        );
        this.socket.destroy();
        return;
      default:
        this.abort();
    }
  }

  private pendingContext = 0;

  private deliver(m: DimseMessage): void {
    const field = Number(m.command.CommandField);
    if (!(field & 0x8000)) {
      void this.answer(m, this.pendingContext);
      return;
    }
    const id = Number(m.command.MessageIDBeingRespondedTo);
    this.waiters.get(id)?.push(m);
  }

  /** Answers a request the peer sent us, through `onRequest` (or with "unrecognized operation"). */
  private async answer(m: DimseMessage, contextId: number): Promise<void> {
    const pc = this.ac?.presentationContexts.find((c) => c.id === contextId);
    const proposed = this.opts.contexts[(contextId - 1) / 2];
    const field = Number(m.command.CommandField);
    let r: { status: number; fields?: Command } = { status: 0x0211 };
    if (this.opts.onRequest && pc && proposed) {
      try {
        r = await this.opts.onRequest(m.command, m.dataset, {
          id: contextId,
          abstractSyntax: proposed.abstractSyntax,
          transferSyntax: pc.transferSyntax,
        });
      } catch (e) {
        r = { status: 0x0110, fields: { ErrorComment: (e as Error).message.slice(0, 64) } };
      }
    }
    const rsp: Command = {
      CommandField: field | 0x8000,
      MessageIDBeingRespondedTo: Number(m.command.MessageID),
      ...(m.command.AffectedSOPClassUID ? { AffectedSOPClassUID: m.command.AffectedSOPClassUID } : {}),
      ...(m.command.AffectedSOPInstanceUID
        ? { AffectedSOPInstanceUID: m.command.AffectedSOPInstanceUID }
        : {}),
      ...(m.command.EventTypeID !== undefined ? { EventTypeID: m.command.EventTypeID } : {}),
      ...r.fields,
      Status: r.status,
      CommandDataSetType: NO_DATASET,
    };
    await this.send(contextId, true, encodeCommand(rsp)).catch(() => undefined);
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    this.settle?.reject(e);
    this.settle = undefined;
    for (const w of this.waiters.values()) w.fail(e);
    this.waiters.clear();
    this.release$?.();
  }

  /**
   * Sends one request (its data set given whole, or as chunks) and yields every response to it, the final one
   * last. A failure of the association ends the iteration with an AssociationError.
   */
  async *request(
    contextId: number,
    command: Command,
    dataset?: Uint8Array | AsyncIterable<Uint8Array>,
  ): AsyncGenerator<DimseMessage> {
    if (this.closedError) throw this.closedError;
    const messageId = this.nextMessageId++;
    const queue: DimseMessage[] = [];
    let error: Error | undefined;
    let wake: (() => void) | undefined;
    this.waiters.set(messageId, {
      messageId,
      push: (m) => {
        queue.push(m);
        wake?.();
      },
      fail: (e) => {
        error = e;
        wake?.();
      },
    });
    try {
      const full: Command = {
        ...command,
        MessageID: messageId,
        CommandDataSetType: dataset ? 0 : NO_DATASET,
      };
      await this.send(contextId, true, encodeCommand(full));
      if (dataset) {
        if (dataset instanceof Uint8Array) await this.send(contextId, false, dataset);
        else await this.sendStream(contextId, dataset);
      }
      const waitMs = this.opts.responseTimeoutMs ?? 60_000;
      for (;;) {
        while (queue.length) {
          const m = queue.shift()!;
          yield m;
          if (statusCategory(Number(m.command.Status)) !== 'Pending') return;
        }
        if (error) throw error;
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          wake?.();
        }, waitMs);
        await new Promise<void>((r) => (wake = r));
        clearTimeout(timer);
        wake = undefined;
        if (timedOut && !queue.length && !error) {
          this.abort();
          this.fail(new AssociationError(`no response from the peer within ${waitMs} ms`));
        }
      }
    } finally {
      this.waiters.delete(messageId);
    }
  }

  /** Sends a C-CANCEL-RQ for a request in progress. */
  async cancel(contextId: number, messageId: number): Promise<void> {
    await this.send(
      contextId,
      true,
      encodeCommand({
        CommandField: CommandField.C_CANCEL_RQ,
        MessageIDBeingRespondedTo: messageId,
        CommandDataSetType: NO_DATASET,
      }),
    );
  }

  private maxFragment(): number {
    const max = this.peerMaxPdu > 0 ? this.peerMaxPdu : 1024 * 1024;
    return Math.max(2, max - 6);
  }

  private async send(contextId: number, isCommand: boolean, bytes: Uint8Array): Promise<void> {
    const frag = this.maxFragment();
    for (let o = 0; ; o += frag) {
      const part = bytes.subarray(o, Math.min(bytes.length, o + frag));
      const last = o + frag >= bytes.length;
      await this.write(pDataHeader(contextId, isCommand, last, part.length), part);
      if (last) return;
    }
  }

  /** Streams a data set: each chunk is cut to the peer's PDU size; the last fragment is flagged once known. */
  private async sendStream(contextId: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const frag = this.maxFragment();
    let held: Uint8Array | undefined;
    for await (const chunk of chunks) {
      for (let o = 0; o < chunk.length; o += frag) {
        const part = chunk.subarray(o, Math.min(chunk.length, o + frag));
        if (held) await this.write(pDataHeader(contextId, false, false, held.length), held);
        held = part;
      }
    }
    held ??= new Uint8Array(0);
    await this.write(pDataHeader(contextId, false, true, held.length), held);
  }

  private write(...parts: Uint8Array[]): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      let ok = true;
      for (const p of parts) ok = this.socket.write(p) && ok;
      if (ok) return resolve();
      // Wait for the socket to take more, or for the connection to end (then the write failed).
      const drained = () => {
        this.socket.off('close', closed);
        resolve();
      };
      const closed = () => {
        this.socket.off('drain', drained);
        reject(this.closedError ?? new AssociationError('connection closed'));
      };
      this.socket.once('drain', drained);
      this.socket.once('close', closed);
    });
  }

  private release$: (() => void) | undefined;

  /** A-RELEASE: waits for the peer's A-RELEASE-RP (or the connection to close). */
  async release(): Promise<void> {
    if (this.closedError || this.state !== 'Sta6') {
      this.socket.destroy();
      return;
    }
    const done = new Promise<void>((r) => (this.release$ = r));
    this.event('Evt11');
    this.socket.write(encodePdu({ type: 'A-RELEASE-RQ' }));
    const timer = setTimeout(() => this.socket.destroy(), this.opts.timeoutMs ?? 10000);
    await done;
    clearTimeout(timer);
  }

  abort(reason: number = AbortReason.NotSpecified): void {
    if (this.socket.writable) this.socket.write(encodePdu({ type: 'A-ABORT', source: 0, reason }));
    this.socket.destroy();
  }
}
