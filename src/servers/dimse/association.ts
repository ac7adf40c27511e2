import type { Permission } from '../../core/security/roles.js';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { CommandError } from '../../core/dimse/command.js';
import {
  type Command,
  CommandField,
  decodeCommand,
  encodeCommand,
  hasDataset,
  NO_DATASET,
} from '../../core/dimse/command.js';
import { Status } from '../../core/dimse/status.js';
import { isLanternError, LanternError, shortComment } from '../../core/errors.js';
import { type AcceptorCapabilities, type NegotiatedContext, negotiate } from '../../core/ul/negotiation.js';
import {
  type AAssociateRq,
  AbortReason,
  DICOM_APPLICATION_CONTEXT,
  decodePdu,
  encodePdu,
  type Pdu,
  PduError,
  PduType,
  type Pdv,
  pDataHeader,
} from '../../core/ul/pdu.js';
import { type Action, type Event, nextState, type State, transition } from '../../core/ul/state-machine.js';
import { DataQueue } from './data-queue.js';
import { FramerError, PduFramer } from './pdu-framer.js';

/** One DIMSE request as a service handler sees it. */
export interface DimseRequest {
  readonly command: Command;
  readonly context: NegotiatedContext;
  /** The data set's bytes as they arrive, in the context's transfer syntax (when the command has one). */
  readonly dataset?: AsyncIterable<Uint8Array>;
}

export interface DimseResponse {
  readonly status: number;
  /** Extra command fields (error comment, sub-operation counts, ...). */
  readonly fields?: Command;
  /** An encoded data set to send after the command (C-FIND matches, ...), in the context's syntax. */
  readonly dataset?: Uint8Array;
}

export interface AssociationInfo {
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  readonly remoteAddress: string;
  /**
   * Sends a request to the peer on this association (C-GET sub-operations: the peer is the storage SCP) and
   * resolves with its response command. Undefined until the association is established.
   */
  readonly request?: (
    abstractSyntax: string,
    transferSyntax: string | undefined,
    command: Command,
    dataset: AsyncIterable<Uint8Array>,
    options?: { peerIsScp: boolean },
  ) => Promise<Command | undefined>;
  /** True while the association is established (storage commitment reports on it when it is). */
  readonly isOpen?: () => boolean;
  /** The extended negotiation agreed for a SOP class (our answer's application information). */
  readonly extended?: (sopClassUid: string) => Uint8Array | undefined;
  /** The account the association's user identity proved; the services then check its permissions too. */
  readonly user?: Admission['user'];
}

/** A service: one response, or several (pending responses, then the final one). */
export type DimseHandler = (
  req: DimseRequest,
  assoc: AssociationInfo,
  signal: AbortSignal,
) => Promise<DimseResponse> | AsyncIterable<DimseResponse>;

/** A-ASSOCIATE-RJ parameters (PS3.8 Table 9-21). */
export interface Rejection {
  readonly result: 1 | 2;
  readonly source: 1 | 2 | 3;
  readonly reason: number;
}

/** An accepted association: the user its user identity negotiation proved (PS3.7 D.3.3.7), if any. */
export interface Admission {
  readonly user?: { readonly login: string; readonly permissions: ReadonlySet<Permission> };
}

export interface AssociationOptions {
  readonly aeTitle: string;
  readonly capabilities: AcceptorCapabilities;
  readonly handlers: ReadonlyMap<number, DimseHandler>;
  /**
   * Decides whether a caller may associate (the local user's A-ASSOCIATE response): a rejection refuses it;
   * otherwise the admission names the user the association's user identity proved, if any.
   */
  readonly admit: (rq: AAssociateRq, remoteAddress: string) => Promise<Rejection | Admission | undefined>;
  /** Largest PDU we receive (advertised in A-ASSOCIATE-AC). */
  readonly maxPduLength: number;
  readonly artimMs: number;
  readonly idleMs: number;
  readonly log: Logger;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** Called when a whole A-ASSOCIATE-RQ has arrived and goes to the local user's decision (AE-6). */
  readonly onRequest?: () => void;
  /** Called when the association is accepted (established, Sta6). */
  readonly onEstablished?: () => void;
  /** Called once when an accepted association ends (released, aborted or dropped). */
  readonly onEnd?: (info: AssociationInfo) => void;
  /** Reports an error no handler expected (logged here when absent); the association is aborted. */
  readonly onFault?: (e: Error, where: string) => void;
}

const RESPONSE_OF: Record<number, number> = {
  [CommandField.C_ECHO_RQ]: CommandField.C_ECHO_RSP,
  [CommandField.C_STORE_RQ]: CommandField.C_STORE_RSP,
  [CommandField.C_FIND_RQ]: CommandField.C_FIND_RSP,
  [CommandField.C_MOVE_RQ]: CommandField.C_MOVE_RSP,
  [CommandField.C_GET_RQ]: CommandField.C_GET_RSP,
  [CommandField.N_ACTION_RQ]: CommandField.N_ACTION_RSP,
  [CommandField.N_EVENT_REPORT_RQ]: CommandField.N_EVENT_REPORT_RSP,
};

const MAX_COMMAND = 64 * 1024;
/**
 * Largest A-ASSOCIATE-RQ (or other non-data PDU) accepted: 128 contexts with many syntaxes and a large user
 * identity (a SAML assertion or JWT) fit well within; it bounds what a connection not yet associated holds.
 */
const MAX_CONTROL_PDU = 256 * 1024;
const DATA_HIGH_WATER = 8 * 1024 * 1024;

interface Inflight {
  readonly command: Command;
  readonly context: NegotiatedContext;
  readonly queue: DataQueue | undefined;
  readonly abort: AbortController;
}

/**
 * The acceptor side of one association: PDUs from the socket become state machine events (PS3.8 9.2);
 * actions send PDUs, run services and close the connection. A failing service becomes a failure status,
 * never a dropped association; a protocol error becomes an A-ABORT.
 */
export class Association {
  private state: State = 'Sta1';
  private artim: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private readonly framer: PduFramer;
  private peerMaxPdu = 0;
  private contexts = new Map<number, NegotiatedContext>();
  private info: AssociationInfo;
  private commandBuf: Uint8Array[] = [];
  private commandLen = 0;
  private commandContext = -1;
  private current: Inflight | undefined;
  private readonly byMessageId = new Map<number, Inflight>();
  private readonly responseWaiters = new Map<number, (c: Command | undefined) => void>();
  private nextOwnMessageId = 1;
  private roles: readonly { sopClassUid: string; scp: boolean }[] = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private pausedBy = 0;
  /** When the peer last sent a PDU, or last took bytes we were blocked sending (ms since the epoch). */
  private lastProgress = Date.now();
  /** Our requests (C-GET sub-operations, reports) sent whole whose response has not come. */
  private awaitingResponse = 0;

  constructor(
    private readonly socket: Socket,
    private readonly opts: AssociationOptions,
  ) {
    this.info = { callingAeTitle: '', calledAeTitle: '', remoteAddress: socket.remoteAddress ?? '' };
    // Data PDUs as large as we advertised, once established; before that, nothing larger than a control PDU
    // is buffered for a connection that has not associated.
    this.framer = new PduFramer((type) =>
      type === PduType.PDataTf && this.state === 'Sta6' ? opts.maxPduLength : MAX_CONTROL_PDU,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.guard('received data', () => this.onData(chunk)));
    socket.on('close', () => this.guard('connection close', () => this.event('Evt17')));
    socket.on('error', () => undefined); // 'close' follows
    this.event('Evt5');
  }

  /** Runs one of this connection's event handlers; what it throws is this association's fault only. */
  private guard(where: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.fault(e, where);
    }
  }

  get currentState(): State {
    return this.state;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let pdus: Uint8Array[];
    try {
      pdus = this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.event(
        'Evt19',
        undefined,
        e instanceof FramerError ? AbortReason.InvalidPduParameterValue : AbortReason.NotSpecified,
        (e as Error).message,
      );
      return;
    }
    for (const bytes of pdus) {
      if (this.closed) return;
      let pdu: Pdu;
      try {
        pdu = decodePdu(bytes);
      } catch (e) {
        this.event(
          'Evt19',
          undefined,
          e instanceof PduError ? e.reason : AbortReason.NotSpecified,
          (e as Error).message,
        );
        return;
      }
      this.resetIdle();
      const evt: Event = {
        'A-ASSOCIATE-RQ': 'Evt6',
        'A-ASSOCIATE-AC': 'Evt3',
        'A-ASSOCIATE-RJ': 'Evt4',
        'P-DATA-TF': 'Evt10',
        'A-RELEASE-RQ': 'Evt12',
        'A-RELEASE-RP': 'Evt13',
        'A-ABORT': 'Evt16',
      }[pdu.type] as Event;
      this.event(evt, pdu);
    }
  }

  /** Feeds one event to the state machine and performs the action the table gives. */
  private event(evt: Event, pdu?: Pdu, reason: number = AbortReason.UnexpectedPdu, why?: string): void {
    const action = transition(this.state, evt);
    if (!action) {
      // Not in the table: a local primitive at the wrong time, or a PDU we cannot place. Abort.
      this.abort(AbortReason.UnexpectedPdu, `event ${evt} in ${this.state}`);
      return;
    }
    this.perform(action, evt, pdu, reason, why);
  }

  private perform(action: Action, evt: Event, pdu: Pdu | undefined, reason: number, why?: string): void {
    switch (action) {
      case 'AE-5':
        this.startArtim();
        this.state = nextState(action);
        return;
      case 'AE-6': {
        this.stopArtim();
        const rq = pdu as AAssociateRq;
        const rejection = this.checkRequest(rq);
        this.state = nextState(action, { acceptable: !rejection });
        if (rejection) {
          this.reject(rq, rejection);
          return;
        }
        this.opts.onRequest?.();
        // Sta3: the local user (the AE registry) decides; PDUs arriving meanwhile abort (Table 9-10).
        this.opts
          .admit(rq, this.info.remoteAddress)
          .then(
            (r) => {
              if (this.state !== 'Sta3') return;
              if (r && 'result' in r) {
                this.state = nextState(transition('Sta3', 'Evt8')!); // AE-8
                this.reject(rq, r);
              } else this.accept(rq, r?.user);
            },
            (e: unknown) => {
              this.opts.log.error({ err: { message: (e as Error).message } }, 'association admission failed');
              if (this.state !== 'Sta3') return;
              this.state = 'Sta13';
              this.reject(rq, { result: 2, source: 2, reason: 1 }); // transient, no reason given
            },
          )
          .catch((e: unknown) => this.fault(e, 'association admission'));
        return;
      }
      case 'DT-2':
        this.onPData(pdu as Extract<Pdu, { type: 'P-DATA-TF' }>);
        return;
      case 'AR-2':
        this.state = nextState(action);
        // Nothing more can come from the peer (a P-DATA-TF now aborts, PS3.8 Table 9-10): a data set still
        // arriving ends here, and sub-operations waiting for the peer's response stop waiting.
        if (this.current?.queue && !this.currentDatasetDone)
          this.current.queue.fail(
            incomplete('the peer asked to release the association before the data set ended'),
          );
        for (const w of this.responseWaiters.values()) w(undefined);
        this.responseWaiters.clear();
        // Answer the release once every service in progress has sent its response.
        void Promise.allSettled([...this.running])
          .then(() => {
            if (this.state === 'Sta8') this.event('Evt14');
          })
          .catch((e: unknown) => this.fault(e, 'release'));
        return;
      case 'AR-4':
        this.send(encodePdu({ type: 'A-RELEASE-RP' }));
        this.state = nextState(action);
        this.startArtim();
        return;
      case 'AA-1':
      case 'AA-7':
      case 'AA-8':
        this.sendAbort(action === 'AA-8' ? 2 : 0, reason, why ?? `${evt} not expected in ${this.state}`);
        return;
      case 'AA-2':
      case 'AA-3':
      case 'AA-4':
      case 'AA-5':
      case 'AR-5':
        this.stopArtim();
        this.state = 'Sta1';
        this.teardown(
          action === 'AA-3' ? 'peer aborted' : action === 'AA-2' ? 'closed' : 'connection closed',
        );
        return;
      case 'AA-6':
        this.state = 'Sta13';
        return;
      default:
        // Requestor-side actions cannot occur on an accepted connection.
        this.abort(AbortReason.UnexpectedPdu, `action ${action} on an acceptor`);
    }
  }

  /** The checks of AE-6 that need no one's decision: protocol version, application context, called AE. */
  private checkRequest(rq: AAssociateRq): Rejection | undefined {
    if ((rq.protocolVersion & 1) === 0) return { result: 1, source: 2, reason: 2 }; // protocol version not supported
    if (rq.applicationContext !== DICOM_APPLICATION_CONTEXT) return { result: 1, source: 1, reason: 2 };
    if (rq.calledAeTitle !== this.opts.aeTitle) return { result: 1, source: 1, reason: 7 }; // called AE not recognized
    return undefined;
  }

  private reject(rq: AAssociateRq, rejection: Rejection): void {
    this.send(encodePdu({ type: 'A-ASSOCIATE-RJ', ...rejection }));
    this.opts.log.info(
      { calling: rq.callingAeTitle, result: rejection.result, reason: rejection.reason },
      'association rejected',
    );
    this.startArtim();
  }

  private accept(rq: AAssociateRq, user?: Admission['user']): void {
    const n = negotiate(rq, this.opts.capabilities);
    this.contexts = new Map(n.accepted);
    this.peerMaxPdu = rq.userInformation.maxPduLength ?? 0;
    this.roles = n.roles;
    this.info = {
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
      remoteAddress: this.info.remoteAddress,
      request: (abstractSyntax, transferSyntax, command, dataset, options) =>
        this.sendRequest(abstractSyntax, transferSyntax, command, dataset, options?.peerIsScp ?? true),
      isOpen: () => !this.closed && this.state === 'Sta6',
      extended: (sopClassUid) => n.extended.find((x) => x.sopClassUid === sopClassUid)?.info,
      user,
    };
    const action = transition(this.state, 'Evt7')!; // the local user accepts: AE-7
    this.send(
      encodePdu({
        type: 'A-ASSOCIATE-AC',
        protocolVersion: 1,
        calledAeTitle: rq.calledAeTitle,
        callingAeTitle: rq.callingAeTitle,
        applicationContext: DICOM_APPLICATION_CONTEXT,
        presentationContexts: n.contexts,
        userInformation: {
          maxPduLength: this.opts.maxPduLength,
          implementationClassUid: this.opts.implementationClassUid,
          implementationVersionName: this.opts.implementationVersionName,
          // A verified username/passcode identity answers with an empty server response when one is asked for.
          ...(user && rq.userInformation.userIdentity?.positiveResponseRequested
            ? { userIdentityResponse: new Uint8Array(0) }
            : {}),
          ...(n.roles.length ? { roles: n.roles } : {}),
          ...(n.extended.length ? { extended: n.extended } : {}),
        },
      }),
    );
    this.state = nextState(action);
    this.opts.onEstablished?.();
    this.opts.log.info(
      { calling: rq.callingAeTitle, address: this.info.remoteAddress, contexts: n.accepted.size },
      'association accepted',
    );
    this.resetIdle();
  }

  private onPData(p: Extract<Pdu, { type: 'P-DATA-TF' }>): void {
    for (const pdv of p.pdvs) {
      const ctx = this.contexts.get(pdv.contextId);
      if (!ctx) {
        this.abort(
          AbortReason.InvalidPduParameterValue,
          `presentation context ${pdv.contextId} was not accepted`,
        );
        return;
      }
      if (pdv.command) this.onCommandPdv(pdv, ctx);
      else this.onDataPdv(pdv);
      if (this.closed) return;
    }
  }

  private onCommandPdv(pdv: Pdv, ctx: NegotiatedContext): void {
    if (this.current?.queue && !this.currentDatasetDone) {
      this.abort(AbortReason.UnexpectedPduParameter, 'a command fragment arrived before the data set ended');
      return;
    }
    if (this.commandContext !== -1 && this.commandContext !== pdv.contextId) {
      this.abort(AbortReason.UnexpectedPduParameter, 'command fragments on two presentation contexts');
      return;
    }
    this.commandContext = pdv.contextId;
    this.commandLen += pdv.data.length;
    if (this.commandLen > MAX_COMMAND) {
      this.abort(AbortReason.InvalidPduParameterValue, 'command set larger than 64 KiB');
      return;
    }
    this.commandBuf.push(pdv.data);
    if (!pdv.last) return;
    const bytes = Buffer.concat(this.commandBuf);
    this.commandBuf = [];
    this.commandLen = 0;
    this.commandContext = -1;
    let command: Command;
    try {
      command = decodeCommand(bytes);
    } catch (e) {
      this.abort(
        AbortReason.InvalidPduParameterValue,
        `command set cannot be read: ${(e as CommandError).message}`,
      );
      return;
    }
    if (Number(command.CommandField) & 0x8000) {
      // A response to a request we sent (C-GET sub-operation).
      const id = Number(command.MessageIDBeingRespondedTo);
      const waiter = this.responseWaiters.get(id);
      if (!waiter) {
        this.abort(AbortReason.UnexpectedPduParameter, 'a response to no request of ours');
        return;
      }
      this.responseWaiters.delete(id);
      waiter(command);
      return;
    }
    if (command.CommandField === CommandField.C_CANCEL_RQ) {
      // PS3.7 9.3.2.3: no response to the cancel itself; the operation ends with status Cancel.
      this.byMessageId.get(Number(command.MessageIDBeingRespondedTo))?.abort.abort(new CancelError());
      return;
    }
    const queue = hasDataset(command)
      ? new DataQueue(
          DATA_HIGH_WATER,
          () => this.pause(),
          () => this.resume(),
        )
      : undefined;
    this.currentDatasetDone = !queue;
    const inflight: Inflight = { command, context: ctx, queue, abort: new AbortController() };
    this.current = inflight;
    if (command.MessageID !== undefined) this.byMessageId.set(Number(command.MessageID), inflight);
    const run = this.serve(inflight)
      .catch((e: unknown) => this.fault(e, 'DIMSE service'))
      .finally(() => {
        this.running.delete(run);
        if (this.byMessageId.get(Number(command.MessageID)) === inflight)
          this.byMessageId.delete(Number(command.MessageID));
      });
    this.running.add(run);
  }

  private currentDatasetDone = true;

  private onDataPdv(pdv: Pdv): void {
    const cur = this.current;
    if (!cur?.queue || this.currentDatasetDone) {
      this.abort(AbortReason.UnexpectedPduParameter, 'a data set fragment without a command announcing it');
      return;
    }
    if (pdv.contextId !== cur.context.id) {
      this.abort(
        AbortReason.UnexpectedPduParameter,
        'data set fragment on another presentation context than its command',
      );
      return;
    }
    cur.queue.push(pdv.data);
    if (pdv.last) {
      cur.queue.end();
      this.currentDatasetDone = true;
    }
  }

  /** Runs the handler for one request and sends its responses. */
  private async serve(req: Inflight): Promise<void> {
    const cmd = req.command;
    const field = Number(cmd.CommandField);
    const rspField = RESPONSE_OF[field];
    const base: Command = {
      CommandField: rspField,
      MessageIDBeingRespondedTo: Number(cmd.MessageID ?? 0),
      ...(cmd.AffectedSOPClassUID ? { AffectedSOPClassUID: cmd.AffectedSOPClassUID } : {}),
      ...(cmd.AffectedSOPInstanceUID ? { AffectedSOPInstanceUID: cmd.AffectedSOPInstanceUID } : {}),
    };
    const respond = (r: DimseResponse) => {
      // An aborted or closed association gets no more messages: its service is abandoned.
      if (!this.canSendData()) return;
      const fields: Command = {
        ...base,
        ...r.fields,
        Status: r.status,
        CommandDataSetType: r.dataset ? 0x0000 : NO_DATASET,
      };
      this.sendMessage(req.context.id, encodeCommand(fields), r.dataset);
    };
    const handler = this.opts.handlers.get(field);
    try {
      if (cmd.MessageID === undefined || rspField === undefined) {
        throw new MissingField(rspField === undefined ? 'CommandField' : 'MessageID');
      }
      if (!handler) {
        respond({
          status: Status.UnrecognizedOperation,
          fields: { ErrorComment: 'operation not supported' },
        });
        await this.drain(req);
        return;
      }
      const out = handler(
        { command: cmd, context: req.context, dataset: req.queue },
        this.info,
        req.abort.signal,
      );
      if (Symbol.asyncIterator in out) {
        for await (const r of out as AsyncIterable<DimseResponse>) {
          if (req.abort.signal.aborted) break;
          respond(r);
        }
        if (req.abort.signal.reason instanceof CancelError) respond({ status: Status.Cancel });
      } else respond(await out);
      await this.drain(req);
    } catch (e) {
      await this.drain(req);
      if (req.abort.signal.reason instanceof CancelError) {
        respond({ status: Status.Cancel });
        return;
      }
      if (e instanceof MissingField) {
        if (rspField === undefined) {
          this.abort(AbortReason.InvalidPduParameterValue, `command field ${field} is not a request`);
          return;
        }
        respond({
          status: Status.MissingAttribute,
          fields: { ErrorComment: `${e.message} is missing`, OffendingElement: [0x00000110] },
        });
        return;
      }
      if (isLanternError(e)) {
        respond({ status: e.dimseStatus, fields: { ErrorComment: shortComment(e) } });
        return;
      }
      this.opts.log.error(
        { err: { message: (e as Error).message, stack: (e as Error).stack } },
        'DIMSE service failed',
      );
      respond({ status: Status.ProcessingFailure, fields: { ErrorComment: 'processing failure' } });
    } finally {
      if (this.current === req) this.current = undefined;
    }
  }

  /**
   * Reads and discards what is left of a request's data set, so the association stays in step. A data set
   * cut short by the association's end has nothing left to read.
   */
  private async drain(req: Inflight): Promise<void> {
    if (!req.queue) return;
    try {
      for await (const _ of req.queue) {
        // discarded
      }
    } catch {
      // the association ended while the data set was arriving
    }
  }

  /** P-DATA may still be sent: established, or a release under way (PS3.8 Table 9-10, DT-1 and AR-7). */
  private canSendData(): boolean {
    return !this.closed && (this.state === 'Sta6' || this.state === 'Sta7' || this.state === 'Sta8');
  }

  /**
   * An error no handler expected, in this connection's code: logged and counted, and the association
   * aborted, so that one connection's fault never reaches the process.
   */
  private fault(e: unknown, where: string): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.opts.onFault) this.opts.onFault(err, where);
    else this.opts.log.error({ err: { message: err.message, stack: err.stack }, where }, 'association fault');
    if (!this.closed) {
      try {
        this.abort(AbortReason.NotSpecified, `${where} failed`);
      } catch {
        this.socket.destroy();
      }
    }
  }

  /**
   * Sends a request to the peer (we act as SCU on a context whose SCP role the peer took, PS3.7 D.3.3.4)
   * and waits for its response. Undefined when no such context was negotiated or the association ended.
   */
  private async sendRequest(
    abstractSyntax: string,
    transferSyntax: string | undefined,
    command: Command,
    dataset: AsyncIterable<Uint8Array>,
    peerIsScp: boolean,
  ): Promise<Command | undefined> {
    if (this.closed || this.state !== 'Sta6') return undefined;
    const ctx = [...this.contexts.values()].find(
      (c) => c.abstractSyntax === abstractSyntax && (!transferSyntax || c.transferSyntax === transferSyntax),
    );
    if (!ctx) return undefined;
    // C-GET: we may store to the peer only on classes whose SCP role it took. N-EVENT-REPORT needs no role.
    if (peerIsScp && !this.roles.some((r) => r.sopClassUid === abstractSyntax && r.scp)) return undefined;
    const messageId = this.nextOwnMessageId++;
    const response = new Promise<Command | undefined>((resolve) =>
      this.responseWaiters.set(messageId, resolve),
    );
    this.sendMessage(ctx.id, encodeCommand({ ...command, MessageID: messageId, CommandDataSetType: 0 }));
    const frag = this.fragmentSize();
    let held: Uint8Array | undefined;
    for await (const chunk of dataset) {
      if (this.closed) return undefined;
      for (let o = 0; o < chunk.length; o += frag) {
        if (held) await this.sendData(ctx.id, held, false);
        held = chunk.subarray(o, Math.min(chunk.length, o + frag));
      }
    }
    await this.sendData(ctx.id, held ?? new Uint8Array(0), true);
    // Only now is the peer's turn: while we were sending, it had nothing to say.
    this.awaitingResponse++;
    return response.finally(() => this.awaitingResponse--);
  }

  private fragmentSize(): number {
    const max = this.peerMaxPdu > 0 ? this.peerMaxPdu - 6 : 1024 * 1024;
    return Math.max(2, max - 6);
  }

  private sendData(contextId: number, part: Uint8Array, last: boolean): Promise<void> {
    if (this.closed || !this.socket.writable) return Promise.resolve();
    this.socket.write(pDataHeader(contextId, false, last, part.length));
    if (this.socket.write(part)) return Promise.resolve();
    // Wait for the socket to take more, or for the connection to end (the caller then stops sending).
    return new Promise((r) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.lastProgress = Date.now(); // the peer is reading
        r();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Sends a command (and data set) as P-DATA-TF PDUs no larger than the peer accepts. */
  private sendMessage(contextId: number, command: Uint8Array, dataset?: Uint8Array): void {
    const max = this.peerMaxPdu > 0 ? this.peerMaxPdu - 6 : 1024 * 1024;
    const fragment = Math.max(2, max - 6);
    const sendAll = (bytes: Uint8Array, isCommand: boolean) => {
      for (let o = 0; o < bytes.length || o === 0; o += fragment) {
        const part = bytes.subarray(o, Math.min(bytes.length, o + fragment));
        const last = o + fragment >= bytes.length;
        this.send(pDataHeader(contextId, isCommand, last, part.length));
        this.send(part);
        if (last) break;
      }
    };
    sendAll(command, true);
    if (dataset) sendAll(dataset, false);
  }

  private abort(reason: number, why: string): void {
    if (this.state === 'Sta13' || this.state === 'Sta1') {
      this.socket.destroy();
      return;
    }
    this.sendAbort(2, reason, why);
  }

  private sendAbort(source: 0 | 2, reason: number, why: string): void {
    this.opts.log.warn(
      { state: this.state, reason, why, calling: this.info.callingAeTitle || undefined },
      'association aborted',
    );
    this.send(encodePdu({ type: 'A-ABORT', source, reason }));
    // AA-7 (a PDU while waiting for the close) keeps the timer running: a peer sending PDUs cannot hold
    // the connection open by doing so.
    const restart = this.state !== 'Sta13';
    this.state = 'Sta13';
    this.failInflight(incomplete('the association was aborted before the data set ended'));
    if (restart || !this.artim) this.startArtim();
  }

  /** Every request in progress ends: its data set stops with `e`, its handler is told by its signal. */
  private failInflight(e: Error): void {
    const all = new Set(this.byMessageId.values());
    if (this.current) all.add(this.current);
    for (const req of all) {
      req.abort.abort(e);
      req.queue?.fail(e);
    }
  }

  private send(bytes: Uint8Array): void {
    if (!this.closed && this.socket.writable) this.socket.write(bytes);
  }

  private pause(): void {
    if (this.pausedBy++ === 0) this.socket.pause();
  }

  private resume(): void {
    if (this.pausedBy > 0 && --this.pausedBy === 0) this.socket.resume();
  }

  private startArtim(): void {
    this.stopArtim();
    this.artim = setTimeout(() => this.guard('ARTIM timer', () => this.event('Evt18')), this.opts.artimMs);
  }

  private stopArtim(): void {
    if (this.artim) clearTimeout(this.artim);
    this.artim = undefined;
  }

  /** A PDU arrived: the peer is there. */
  private resetIdle(): void {
    this.lastProgress = Date.now();
    this.armIdle(this.opts.idleMs);
  }

  private armIdle(ms: number): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(
      () =>
        this.guard('idle timer', () => {
          if (this.state !== 'Sta6') return;
          const quiet = Date.now() - this.lastProgress;
          if (quiet < this.opts.idleMs) return this.armIdle(this.opts.idleMs - quiet);
          // No progress from the peer for idleMs: idle, or gone silent while we wait for it (a data set
          // half sent, a response to our request, or our sending blocked because it stopped reading).
          if (this.running.size === 0) this.abort(AbortReason.NotSpecified, 'idle timeout');
          else if (this.waitingOnPeer())
            this.abort(AbortReason.NotSpecified, 'the peer sent nothing while we waited for it');
          else this.armIdle(this.opts.idleMs);
        }),
      ms,
    );
  }

  private waitingOnPeer(): boolean {
    // A data set we hold back ourselves (storage behind, socket paused) is not the peer's silence.
    const dataset = !!this.current?.queue && !this.currentDatasetDone && this.pausedBy === 0;
    return dataset || this.awaitingResponse > 0 || this.socket.writableNeedDrain;
  }

  private teardown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.info.request) this.opts.onEnd?.(this.info);
    this.stopArtim();
    if (this.idle) clearTimeout(this.idle);
    this.failInflight(incomplete(`the association ended (${why}) before the data set did`));
    for (const w of this.responseWaiters.values()) w(undefined);
    this.responseWaiters.clear();
    this.socket.destroy();
  }
}

class MissingField extends Error {}

function incomplete(why: string): LanternError {
  return new LanternError('LNT_DIMSE_INCOMPLETE', why);
}
class CancelError extends Error {}
