import { connect as tcpConnect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  type Command,
  CommandField,
  decodeCommand,
  encodeCommand,
  CommandTag,
  hasDataset,
  isResponse,
  NO_DATASET,
  WITH_DATASET,
} from '../../core/dimse/command.js';
import { Status, statusCategory } from '../../core/dimse/status.js';
import { isLanternError, LanternError, shortComment } from '../../core/errors.js';
import type { Permission } from '../../core/security/roles.js';
import { type AcceptorCapabilities, type NegotiatedContext, negotiate } from '../../core/ul/negotiation.js';
import {
  type AAssociateAc,
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
  type RoleSelection,
} from '../../core/ul/pdu.js';
import { type Action, type Event, nextState, type State, transition } from '../../core/ul/state-machine.js';
import { DataQueue } from './data-queue.js';
import { FramerError, PduFramer } from './pdu-framer.js';

/**
 * One association, either side (PS3.8 9.2): the upper layer state machine driven by the transition table,
 * PDU framing, P-DATA fragmenting, command and data set assembly, requests and their responses, services
 * for the requests the peer sends, release, abort, ARTIM and idle timers. `Association.accept` takes a
 * connection as the acceptor (the DICOM listener); `Association.connect` opens one as the requestor (C-MOVE
 * destinations, storage commitment reports, the command line). Both roles send and serve requests alike: a
 * C-GET's SCP sends C-STOREs to its requestor, a storage commitment requester receives N-EVENT-REPORTs.
 */

/** One request the peer sent, as a service handler sees it. */
/** The most operations a peer may have outstanding on one association (our answer to its window). */
export const MAX_ASYNC_OPERATIONS = 16;

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

/** A message received in answer to one of our requests (a response data set is held whole: it is small). */
export interface DimseMessage {
  readonly command: Command;
  readonly dataset?: Uint8Array;
}

/** The user its user identity negotiation proved (PS3.7 D.3.3.7), if any. */
export interface Admission {
  readonly user?: { readonly login: string; readonly permissions: ReadonlySet<Permission> };
}

/** A-ASSOCIATE-RJ parameters (PS3.8 Table 9-21). */
export interface Rejection {
  readonly result: 1 | 2;
  readonly source: 1 | 2 | 3;
  readonly reason: number;
}

export interface AssociationInfo {
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  readonly remoteAddress: string;
  /**
   * Sends a request to the peer on this association (C-GET sub-operations: the peer is the storage SCP) and
   * resolves with its final response command. Undefined until the association is established.
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

/** What both roles are configured with. */
export interface CommonOptions {
  /** Services for the requests the peer sends, by command field (none: 0211H, unrecognized operation). */
  readonly handlers?: ReadonlyMap<number, DimseHandler>;
  /** Or by presentation context and command field (a registry of service classes); tried first. */
  readonly route?: (context: NegotiatedContext, commandField: number) => DimseHandler | undefined;
  /** Largest PDU we receive (advertised in our A-ASSOCIATE-RQ or -AC). */
  readonly maxPduLength: number;
  /** ARTIM: the deadline for a whole A-ASSOCIATE-RQ, for an answer to ours, and for a peer to close. */
  readonly artimMs: number;
  /** An association whose peer makes no progress for this long is aborted (idle, or while we wait for it). */
  readonly idleMs: number;
  readonly log: Logger;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** Reports an error no handler expected (logged here when absent); the association is aborted. */
  readonly onFault?: (e: Error, where: string) => void;
  /** The largest data set accepted in a response to one of our requests (default 16 MiB). */
  readonly maxResponseDatasetBytes?: number;
  /** How long one of our requests waits for its next response once sent (default: idleMs). */
  readonly responseTimeoutMs?: number;
}

export interface AcceptOptions extends CommonOptions {
  readonly aeTitle: string;
  readonly capabilities: AcceptorCapabilities;
  /**
   * Decides whether a caller may associate (the local user's A-ASSOCIATE response): a rejection refuses it;
   * otherwise the admission names the user the association's user identity proved, if any.
   */
  readonly admit: (rq: AAssociateRq, remoteAddress: string) => Promise<Rejection | Admission | undefined>;
  /** Called when a whole A-ASSOCIATE-RQ has arrived and goes to the local user's decision (AE-6). */
  readonly onRequest?: () => void;
  /** Called when the association is accepted (established, Sta6). */
  readonly onEstablished?: () => void;
  /**
   * Called once when an accepted association ends: `how` is 'released' after an orderly release, otherwise
   * what ended it (aborted by either side, the connection closed or timed out).
   */
  readonly onEnd?: (info: AssociationInfo, how: string) => void;
}

export interface ProposedContext {
  readonly abstractSyntax: string;
  readonly transferSyntaxes: readonly string[];
}

export interface ConnectOptions extends Omit<CommonOptions, 'artimMs' | 'idleMs' | 'log' | 'maxPduLength'> {
  /** Largest PDU we receive (default 262144). */
  readonly maxPduLength?: number;
  readonly host: string;
  readonly port: number;
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  readonly contexts: readonly ProposedContext[];
  /** SCP/SCU role selection to propose (e.g. SCP role for storage classes, to receive C-GET results). */
  readonly roles?: readonly RoleSelection[];
  /**
   * Operations of ours to have outstanding at once, proposed as the asynchronous operations window (PS3.7
   * D.3.3.3); `operationsWindow` says what the peer granted (default 1: no window proposed).
   */
  readonly asyncOperations?: number;
  /** How long to wait for the association to be accepted and for a release to be answered (10 s). */
  readonly artimMs?: number;
  /** Default 5 minutes. */
  readonly idleMs?: number;
  readonly log?: Logger;
}

/** The association could not be made, or ended: refused, aborted, closed, timed out, or a protocol error. */
export class AssociationError extends LanternError {
  constructor(
    message: string,
    readonly rejection?: { result: number; source: number; reason: number },
  ) {
    super('LNT_DIMSE_ASSOCIATION', message);
  }
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

const REJECT_REASONS: Record<string, string> = {
  '1/1': 'no reason given',
  '1/2': 'application context name not supported',
  '1/3': 'calling AE title not recognized',
  '1/7': 'called AE title not recognized',
  '2/2': 'protocol version not supported',
  '3/1': 'temporary congestion',
  '3/2': 'local limit exceeded',
};

const MAX_COMMAND = 64 * 1024;
/**
 * Largest A-ASSOCIATE-RQ (or other non-data PDU) accepted: 128 contexts with many syntaxes and a large user
 * identity (a SAML assertion or JWT) fit well within; it bounds what a connection not yet associated holds.
 */
const MAX_CONTROL_PDU = 256 * 1024;
/**
 * The smallest maximum PDU length a peer may announce (PS3.8 D.1 sets none; 0 means no limit): below it,
 * every data set would go out in fragments of a few bytes, a PDU header per handful of bytes, which costs
 * the archive far more than the peer (an amplification). Such an association is refused (by us as
 * acceptor) or aborted (as requestor).
 */
export const MIN_PEER_MAX_PDU = 1024;
const DATA_HIGH_WATER = 8 * 1024 * 1024;

/** A request of the peer's in progress. */
interface Inflight {
  readonly command: Command;
  readonly context: NegotiatedContext;
  readonly queue: DataQueue | undefined;
  readonly abort: AbortController;
}

/** One of our requests waiting for its responses. */
interface Waiter {
  push(m: DimseMessage): void;
  fail(e: Error): void;
}

/** The data set fragments now arriving: of a request of the peer's, or of a response to ours. */
type Receiving =
  | { readonly kind: 'request'; readonly inflight: Inflight }
  | { readonly kind: 'response'; readonly command: Command; readonly parts: Uint8Array[]; length: number };

export class Association {
  private state: State = 'Sta1';
  private readonly requestor: boolean;
  private artim: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private readonly framer: PduFramer;
  private peerMaxPdu = 0;
  private contexts = new Map<number, NegotiatedContext>();
  private info: AssociationInfo;
  private commandBuf: Uint8Array[] = [];
  private commandLen = 0;
  private commandContext = -1;
  private receiving: Receiving | undefined;
  private datasetDone = true;
  private readonly byMessageId = new Map<number, Inflight>();
  private readonly waiters = new Map<number, Waiter>();
  private nextOwnMessageId = 1;
  private roles: readonly { sopClassUid: string; scp: boolean }[] = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private markEnded!: () => void;
  /** Settles (never fails) when the association has ended: released, aborted or its connection closed. */
  readonly ended: Promise<void> = new Promise((r) => (this.markEnded = r));
  private closedError: AssociationError | undefined;
  private pausedBy = 0;
  /** The socket is corked until the end of this turn of the event loop. */
  private corked = false;
  /** How many of the peer's operations may be outstanding at once (PS3.7 D.3.3.3; 1 unless negotiated). */
  private windowIn = 1;
  /** How many of ours the peer lets us have outstanding. */
  private windowOut = 1;
  /** The peer's requests beyond its window, in the order they came, waiting to be performed. */
  private readonly waitingOps: Inflight[] = [];
  /** The message being streamed out (a request's data set), and messages waiting for it to end. */
  private outbox: Promise<void> = Promise.resolve();
  private streaming = false;
  private deferred: (() => void)[] = [];
  /** When the peer last sent a PDU, or last took bytes we were blocked sending (ms since the epoch). */
  private lastProgress = Date.now();
  /** Our requests sent whole whose response has not come. */
  private awaitingResponse = 0;
  private settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private released: (() => void) | undefined;
  /** The release was asked and answered (A-RELEASE-RP sent or received): whatever closes next, it ended well. */
  private orderly = false;
  private readonly opts: CommonOptions &
    Partial<AcceptOptions> & { artimMs: number; idleMs: number; log: Logger };
  private proposed: readonly ProposedContext[] = [];

  private constructor(
    private readonly socket: Socket,
    opts: CommonOptions & Partial<AcceptOptions>,
    requestor: boolean,
  ) {
    this.opts = opts;
    this.requestor = requestor;
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
  }

  /** The acceptor side of a connection that has just opened (Evt5). */
  static accept(socket: Socket, opts: AcceptOptions): Association {
    const a = new Association(socket, opts, false);
    a.event('Evt5');
    return a;
  }

  /** Opens an association as the requestor; fails with AssociationError on A-ASSOCIATE-RJ, abort or timeout. */
  static connect(o: ConnectOptions): Promise<Association> {
    const socket = tcpConnect({ host: o.host, port: o.port });
    const a = new Association(
      socket,
      {
        ...o,
        artimMs: o.artimMs ?? 10_000,
        idleMs: o.idleMs ?? 300_000,
        log: o.log ?? silentLog,
        maxPduLength: o.maxPduLength ?? 262144,
      },
      true,
    );
    a.proposed = o.contexts;
    a.connectOptions = o;
    // For the services that answer the peer's requests, `callingAeTitle` names the peer: here, the called AE.
    a.info = { callingAeTitle: o.calledAeTitle, calledAeTitle: o.callingAeTitle, remoteAddress: o.host };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        a.fail(new AssociationError(`no answer from ${o.host}:${o.port} within ${a.opts.artimMs} ms`));
      }, a.opts.artimMs);
      a.settle = {
        resolve: () => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.once('error', (e) =>
        a.fail(new AssociationError(`connection to ${o.host}:${o.port} failed: ${e.message}`)),
      );
      a.event('Evt1'); // AE-1: Sta4
      socket.once('connect', () => a.guard('connect', () => a.event('Evt2')));
    });
  }

  private connectOptions: ConnectOptions | undefined;

  get currentState(): State {
    return this.state;
  }

  /** For a requestor: the context accepted for an abstract syntax (and transfer syntax), if any. */
  acceptedContext(abstractSyntax: string, transferSyntax?: string): NegotiatedContext | undefined {
    for (const c of this.contexts.values()) {
      if (c.abstractSyntax !== abstractSyntax) continue;
      if (transferSyntax && c.transferSyntax !== transferSyntax) continue;
      return c;
    }
    return undefined;
  }

  /** Runs one of this connection's event handlers; what it throws is this association's fault only. */
  private guard(where: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.fault(e, where);
    }
  }

  /**
   * An error no handler expected, in this connection's code: logged and counted, and the association
   * aborted, so that one connection's fault never reaches the process.
   */
  private fault(e: unknown, where: string): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.opts.onFault) this.opts.onFault(err, where);
    else this.opts.log.error({ err: { message: err.message, stack: err.stack }, where }, 'association fault');
    this.fail(new AssociationError(`protocol error: ${err.message}`));
    if (!this.closed) {
      try {
        this.abort(AbortReason.NotSpecified, `${where} failed`);
      } catch {
        this.closeSocket();
      }
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let pdus: Uint8Array[];
    try {
      pdus = this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.fail(new AssociationError(`protocol error: ${(e as Error).message}`));
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
        this.fail(new AssociationError(`protocol error: ${(e as Error).message}`));
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
      case 'AE-1':
        this.state = nextState(action);
        return;
      case 'AE-2':
        this.sendAssociateRq();
        this.state = nextState(action);
        return;
      case 'AE-3':
        this.established(pdu as AAssociateAc);
        return;
      case 'AE-4': {
        const rj = pdu as Extract<Pdu, { type: 'A-ASSOCIATE-RJ' }>;
        const what = REJECT_REASONS[`${rj.source}/${rj.reason}`] ?? `source ${rj.source} reason ${rj.reason}`;
        this.state = nextState(action);
        this.fail(
          new AssociationError(
            `association rejected (${rj.result === 1 ? 'permanent' : 'transient'}): ${what}`,
            rj,
          ),
        );
        this.teardown('rejected');
        return;
      }
      case 'AE-5':
        this.startArtim();
        this.state = nextState(action);
        return;
      case 'AE-6':
        this.onAssociateRq(pdu as AAssociateRq, action);
        return;
      case 'DT-2':
      case 'AR-6':
        this.onPData(pdu as Extract<Pdu, { type: 'P-DATA-TF' }>);
        return;
      case 'AR-2':
        this.state = nextState(action);
        // Nothing more can come from the peer (a P-DATA-TF now aborts, PS3.8 Table 9-10): a data set still
        // arriving ends here, and requests of ours waiting for the peer's response stop waiting.
        if (this.receiving?.kind === 'request' && !this.datasetDone)
          this.receiving.inflight.queue?.fail(
            incomplete('the peer asked to release the association before the data set ended'),
          );
        this.failWaiters(new AssociationError('the peer released the association'));
        // Answer the release once every service in progress (and waiting in the window) has responded.
        void this.allPerformed()
          .then(() => {
            if (this.state === 'Sta8') this.event('Evt14');
          })
          .catch((e: unknown) => this.fault(e, 'release'));
        return;
      case 'AR-3':
        // Our release answered.
        this.state = nextState(action);
        this.orderly = true;
        this.released?.();
        this.teardown('released');
        return;
      case 'AR-4':
        this.orderly = true;
        this.send(encodePdu({ type: 'A-RELEASE-RP' }));
        this.state = nextState(action);
        this.startArtim();
        return;
      case 'AR-8':
        // Release collision: both sides asked. The requestor answers first (PS3.8 9.2.3.1 AR-9 / AR-10 path).
        this.state = nextState(action, { requestor: this.requestor });
        if (this.requestor) this.event('Evt14');
        return;
      case 'AR-9':
        this.send(encodePdu({ type: 'A-RELEASE-RP' }));
        this.state = nextState(action);
        return;
      case 'AR-10':
        this.state = nextState(action);
        this.event('Evt14');
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
      case 'AR-5': {
        this.stopArtim();
        const what =
          action === 'AA-3'
            ? `association aborted by the peer${pdu?.type === 'A-ABORT' ? ` (source ${pdu.source}, reason ${pdu.reason})` : ''}`
            : action === 'AA-2'
              ? 'closed'
              : 'connection closed';
        this.fail(new AssociationError(what));
        this.state = 'Sta1';
        this.teardown(what);
        return;
      }
      case 'AA-6':
        this.state = 'Sta13';
        return;
      default:
        this.abort(AbortReason.UnexpectedPdu, `action ${action} in ${this.state}`);
    }
  }

  // ------------------------------------------------------------------------------------ association setup

  private sendAssociateRq(): void {
    const o = this.connectOptions!;
    this.send(
      encodePdu({
        type: 'A-ASSOCIATE-RQ',
        protocolVersion: 1,
        calledAeTitle: o.calledAeTitle,
        callingAeTitle: o.callingAeTitle,
        applicationContext: DICOM_APPLICATION_CONTEXT,
        presentationContexts: o.contexts.map((c, i) => ({ id: 2 * i + 1, ...c })),
        userInformation: {
          maxPduLength: this.opts.maxPduLength,
          implementationClassUid: this.opts.implementationClassUid,
          implementationVersionName: this.opts.implementationVersionName,
          ...(o.roles?.length ? { roles: o.roles } : {}),
          ...(o.asyncOperations && o.asyncOperations > 1
            ? { asyncOps: { invoked: o.asyncOperations, performed: 1 } }
            : {}),
        },
      }),
    );
  }

  /** Requestor: our A-ASSOCIATE-RQ was accepted (AE-3). */
  private established(ac: AAssociateAc): void {
    this.peerMaxPdu = ac.userInformation.maxPduLength ?? 0;
    if (this.peerMaxPdu > 0 && this.peerMaxPdu < MIN_PEER_MAX_PDU) {
      this.state = nextState('AE-3');
      this.abort(
        AbortReason.InvalidPduParameterValue,
        `the peer's maximum PDU length (${this.peerMaxPdu}) is below ${MIN_PEER_MAX_PDU}`,
      );
      return;
    }
    const wanted = this.connectOptions?.asyncOperations ?? 1;
    const granted = ac.userInformation.asyncOps?.invoked;
    // No answer means one at a time; 0 means no limit from the peer (ours still applies).
    this.windowOut = wanted > 1 && granted !== undefined ? Math.min(granted || wanted, wanted) : 1;
    this.contexts = new Map();
    for (const pc of ac.presentationContexts) {
      if (pc.result !== 0) continue;
      const proposed = this.proposed[(pc.id - 1) / 2];
      if (!proposed) continue;
      this.contexts.set(pc.id, {
        id: pc.id,
        abstractSyntax: proposed.abstractSyntax,
        transferSyntax: pc.transferSyntax,
      });
    }
    this.info = {
      ...this.info,
      isOpen: () => !this.closed && this.state === 'Sta6',
    };
    this.state = nextState('AE-3');
    this.resetIdle();
    this.settle?.resolve();
    this.settle = undefined;
  }

  /** Acceptor: a whole A-ASSOCIATE-RQ (AE-6). */
  private onAssociateRq(rq: AAssociateRq, action: Action): void {
    this.stopArtim();
    const rejection = this.checkRequest(rq);
    this.state = nextState(action, { acceptable: !rejection });
    if (rejection) {
      this.reject(rq, rejection);
      return;
    }
    this.opts.onRequest?.();
    // Sta3: the local user (the AE registry) decides; PDUs arriving meanwhile abort (Table 9-10).
    this.opts.admit!(rq, this.info.remoteAddress)
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
  }

  /** The checks of AE-6 that need no one's decision: protocol version, application context, called AE. */
  private checkRequest(rq: AAssociateRq): Rejection | undefined {
    if ((rq.protocolVersion & 1) === 0) return { result: 1, source: 2, reason: 2 }; // protocol version not supported
    if (rq.applicationContext !== DICOM_APPLICATION_CONTEXT) return { result: 1, source: 1, reason: 2 };
    if (rq.calledAeTitle !== this.opts.aeTitle) return { result: 1, source: 1, reason: 7 }; // called AE not recognized
    const max = rq.userInformation.maxPduLength ?? 0;
    if (max > 0 && max < MIN_PEER_MAX_PDU) return { result: 1, source: 1, reason: 1 }; // no reason given
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
    const n = negotiate(rq, this.opts.capabilities!);
    this.contexts = new Map(n.accepted);
    this.peerMaxPdu = rq.userInformation.maxPduLength ?? 0;
    this.roles = n.roles;
    this.info = {
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
      remoteAddress: this.info.remoteAddress,
      request: (abstractSyntax, transferSyntax, command, dataset, options) =>
        this.sendSubRequest(abstractSyntax, transferSyntax, command, dataset, options?.peerIsScp ?? true),
      isOpen: () => !this.closed && this.state === 'Sta6',
      extended: (sopClassUid) => n.extended.find((x) => x.sopClassUid === sopClassUid)?.info,
      user,
    };
    // The asynchronous operations window (PS3.7 D.3.3.3): the requestor may have up to `invoked` of its
    // operations outstanding (0 proposes no limit; ours is MAX_ASYNC_OPERATIONS); we perform its requests
    // concurrently and invoke none of ours asynchronously on it.
    const proposedOps = rq.userInformation.asyncOps;
    const asyncOps = proposedOps
      ? {
          invoked: Math.min(proposedOps.invoked || MAX_ASYNC_OPERATIONS, MAX_ASYNC_OPERATIONS),
          performed: 1,
        }
      : undefined;
    this.windowIn = asyncOps?.invoked ?? 1;
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
          ...(asyncOps ? { asyncOps } : {}),
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

  // ------------------------------------------------------------------------------------ receiving messages

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
    if (this.receiving && !this.datasetDone) {
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
      this.abort(AbortReason.InvalidPduParameterValue, `command set cannot be read: ${(e as Error).message}`);
      return;
    }
    if (isResponse(Number(command.CommandField))) this.onResponse(command);
    else this.onRequestCommand(command, ctx);
  }

  /** A response to one of our requests (its data set, if any, follows and is held whole). */
  private onResponse(command: Command): void {
    const id = Number(command.MessageIDBeingRespondedTo);
    if (!this.waiters.has(id)) {
      this.abort(AbortReason.UnexpectedPduParameter, 'a response to no request of ours');
      return;
    }
    if (hasDataset(command)) {
      this.receiving = { kind: 'response', command, parts: [], length: 0 };
      this.datasetDone = false;
      return;
    }
    this.receiving = undefined;
    this.datasetDone = true;
    this.deliver(id, { command });
  }

  private deliver(id: number, m: DimseMessage): void {
    const w = this.waiters.get(id);
    if (!w) return;
    // A final response ends the request; pending ones keep it open.
    if (statusCategory(Number(m.command.Status)) !== 'Pending') this.waiters.delete(id);
    w.push(m);
  }

  private onRequestCommand(command: Command, ctx: NegotiatedContext): void {
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
    const inflight: Inflight = { command, context: ctx, queue, abort: new AbortController() };
    this.receiving = queue ? { kind: 'request', inflight } : undefined;
    this.datasetDone = !queue;
    if (command.MessageID !== undefined) this.byMessageId.set(Number(command.MessageID), inflight);
    // More outstanding than the window allows: this one waits to be performed (its data set queued, within
    // the data queue's bound) until an earlier one is done.
    if (this.running.size >= this.windowIn) this.waitingOps.push(inflight);
    else this.performOp(inflight);
  }

  /** Resolves once no request of the peer's is being performed or waiting to be. */
  private async allPerformed(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  private performOp(inflight: Inflight): void {
    const id = Number(inflight.command.MessageID);
    const run = this.serve(inflight)
      .catch((e: unknown) => this.fault(e, 'DIMSE service'))
      .finally(() => {
        this.running.delete(run);
        if (this.byMessageId.get(id) === inflight) this.byMessageId.delete(id);
        const next = this.closed ? undefined : this.waitingOps.shift();
        if (next) this.performOp(next);
      });
    this.running.add(run);
  }

  private onDataPdv(pdv: Pdv): void {
    const r = this.receiving;
    if (!r || this.datasetDone) {
      this.abort(AbortReason.UnexpectedPduParameter, 'a data set fragment without a command announcing it');
      return;
    }
    if (r.kind === 'request') {
      if (pdv.contextId !== r.inflight.context.id) {
        this.abort(
          AbortReason.UnexpectedPduParameter,
          'data set fragment on another presentation context than its command',
        );
        return;
      }
      r.inflight.queue!.push(pdv.data);
      if (pdv.last) {
        r.inflight.queue!.end();
        this.datasetDone = true;
        this.receiving = undefined;
      }
      return;
    }
    r.parts.push(pdv.data);
    r.length += pdv.data.length;
    const max = this.opts.maxResponseDatasetBytes ?? 16 * 1024 * 1024;
    if (r.length > max) {
      this.abort(AbortReason.InvalidPduParameterValue, `response data set larger than ${max} bytes`);
      return;
    }
    if (!pdv.last) return;
    this.datasetDone = true;
    this.receiving = undefined;
    this.deliver(Number(r.command.MessageIDBeingRespondedTo), {
      command: r.command,
      dataset: Buffer.concat(r.parts),
    });
  }

  // ------------------------------------------------------------------------------------ serving requests

  /** Runs the handler for one request of the peer's and sends its responses. */
  private async serve(req: Inflight): Promise<void> {
    const cmd = req.command;
    const field = Number(cmd.CommandField);
    const rspField = RESPONSE_OF[field];
    const base: Command = {
      CommandField: rspField,
      MessageIDBeingRespondedTo: Number(cmd.MessageID ?? 0),
      ...(cmd.AffectedSOPClassUID ? { AffectedSOPClassUID: cmd.AffectedSOPClassUID } : {}),
      ...(cmd.AffectedSOPInstanceUID ? { AffectedSOPInstanceUID: cmd.AffectedSOPInstanceUID } : {}),
      ...(cmd.EventTypeID !== undefined && field === CommandField.N_EVENT_REPORT_RQ
        ? { EventTypeID: cmd.EventTypeID }
        : {}),
    };
    const respond = (r: DimseResponse) => {
      // An aborted or closed association gets no more messages: its service is abandoned.
      if (!this.canSendData()) return;
      const fields: Command = {
        ...base,
        ...r.fields,
        Status: r.status,
        CommandDataSetType: r.dataset ? WITH_DATASET : NO_DATASET,
      };
      this.sendWhole(req.context.id, encodeCommand(fields), r.dataset);
    };
    const handler = this.opts.route?.(req.context, field) ?? this.opts.handlers?.get(field);
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
          fields: { ErrorComment: `${e.message} is missing`, OffendingElement: [CommandTag.MessageID] },
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

  // ------------------------------------------------------------------------------------ sending requests

  /**
   * Sends one request (its data set given whole, or as chunks) and yields every response to it, the final
   * one last. The association ending, or no response within the response timeout, ends the iteration with an
   * AssociationError.
   */
  async *request(
    contextId: number,
    command: Command,
    dataset?: Uint8Array | AsyncIterable<Uint8Array>,
  ): AsyncGenerator<DimseMessage> {
    if (this.closedError) throw this.closedError;
    const messageId = this.nextOwnMessageId++;
    const queue: DimseMessage[] = [];
    let error: Error | undefined;
    let wake: (() => void) | undefined;
    this.waiters.set(messageId, {
      push: (m) => {
        queue.push(m);
        wake?.();
      },
      fail: (e) => {
        error = e;
        wake?.();
      },
    });
    let sentWhole = false;
    try {
      // One message at a time goes out whole: requests sent concurrently (within the window) take turns,
      // and responses wait for a data set being streamed.
      const turn = this.outbox;
      let done!: () => void;
      this.outbox = new Promise((r) => (done = r));
      await turn;
      this.streaming = true;
      try {
        this.sendMessage(
          contextId,
          encodeCommand({ ...command, MessageID: messageId, CommandDataSetType: dataset ? 0 : NO_DATASET }),
        );
        if (dataset) await this.sendDataset(contextId, dataset instanceof Uint8Array ? [dataset] : dataset);
      } finally {
        this.streaming = false;
        for (const send of this.deferred.splice(0)) send();
        done();
      }
      if (this.closedError) throw this.closedError;
      // Only now is the peer's turn: while we were sending, it had nothing to say.
      this.awaitingResponse++;
      sentWhole = true;
      const waitMs = this.opts.responseTimeoutMs ?? this.opts.idleMs;
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
          const e = new AssociationError(`no response from the peer within ${waitMs} ms`);
          this.fail(e);
          this.abort(AbortReason.NotSpecified, 'no response in time');
        }
      }
    } finally {
      if (sentWhole) this.awaitingResponse--;
      this.waiters.delete(messageId);
    }
  }

  /**
   * Acceptor: a request to the peer on a context whose SCP role it took (C-GET sub-operations, PS3.7
   * D.3.3.4; N-EVENT-REPORT needs no role). Its final response, or undefined when no such context was
   * negotiated or the association ended.
   */
  private async sendSubRequest(
    abstractSyntax: string,
    transferSyntax: string | undefined,
    command: Command,
    dataset: AsyncIterable<Uint8Array>,
    peerIsScp: boolean,
  ): Promise<Command | undefined> {
    if (this.closed || this.state !== 'Sta6') return undefined;
    const ctx = this.acceptedContext(abstractSyntax, transferSyntax);
    if (!ctx) return undefined;
    if (peerIsScp && !this.roles.some((r) => r.sopClassUid === abstractSyntax && r.scp)) return undefined;
    let last: Command | undefined;
    try {
      for await (const m of this.request(ctx.id, command, dataset)) last = m.command;
    } catch (e) {
      if (e instanceof AssociationError) return undefined;
      throw e;
    }
    return last;
  }

  /** How many of our requests may be outstanding at once: what the peer granted of `asyncOperations`. */
  get operationsWindow(): number {
    return this.windowOut;
  }

  /** Sends a C-CANCEL-RQ for a request of ours in progress. */
  cancel(contextId: number, messageId: number): void {
    this.sendWhole(
      contextId,
      encodeCommand({
        CommandField: CommandField.C_CANCEL_RQ,
        MessageIDBeingRespondedTo: messageId,
        CommandDataSetType: NO_DATASET,
      }),
    );
  }

  /** A-RELEASE: waits for the peer's A-RELEASE-RP (or the connection to close, or ARTIM). */
  async release(): Promise<void> {
    if (this.closed || this.state !== 'Sta6') {
      this.closeSocket();
      return;
    }
    const done = new Promise<void>((r) => (this.released = r));
    this.state = nextState(transition('Sta6', 'Evt11')!); // AR-1: Sta7
    this.send(encodePdu({ type: 'A-RELEASE-RQ' }));
    const timer = setTimeout(() => this.closeSocket(), this.opts.artimMs);
    await done;
    clearTimeout(timer);
  }

  private fragmentSize(): number {
    const max = this.peerMaxPdu > 0 ? this.peerMaxPdu - 6 : 1024 * 1024;
    return Math.max(2, max - 6);
  }

  /** Streams a data set: each chunk is cut to the peer's PDU size; the last fragment is flagged once known. */
  private async sendDataset(
    contextId: number,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<void> {
    const frag = this.fragmentSize();
    let held: Uint8Array | undefined;
    // The PDUs of a chunk leave in one write (a stored object is read in large chunks: a 500 KB image is one
    // system call, not thirty), held back until the next chunk has come or the data set has ended, so that
    // the last PDU, flagged as last only then, goes with them: an object read in one chunk, as most are,
    // leaves with its command in one write. Between chunks, the socket is given time to drain.
    let unsent = false;
    this.socket.cork();
    try {
      for await (const chunk of chunks) {
        if (this.closed) return;
        if (unsent) {
          this.socket.uncork();
          await this.drained();
          this.socket.cork();
          unsent = false;
        }
        for (let o = 0; o < chunk.length; o += frag) {
          if (held) {
            this.writeData(contextId, held, false);
            unsent = true;
          }
          held = chunk.subarray(o, Math.min(chunk.length, o + frag));
        }
      }
      this.writeData(contextId, held ?? new Uint8Array(0), true);
    } finally {
      this.socket.uncork();
    }
    await this.drained();
  }

  /** One P-DATA-TF PDU of data set bytes: the header and its part in one write. */
  private writeData(contextId: number, part: Uint8Array, last: boolean): void {
    if (this.closed || !this.socket.writable) return;
    this.socket.cork();
    this.socket.write(pDataHeader(contextId, false, last, part.length));
    this.socket.write(part);
    this.socket.uncork();
  }

  /** Resolves when the socket can take more, or the connection has ended (the caller then stops sending). */
  private drained(): Promise<void> {
    if (this.closed || !this.socket.writable || !this.socket.writableNeedDrain) return Promise.resolve();
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
  /** A message held whole (a response, a cancel): sent now, or once the data set going out has ended. */
  private sendWhole(contextId: number, command: Uint8Array, dataset?: Uint8Array): void {
    if (this.streaming)
      this.deferred.push(() => this.canSendData() && this.sendMessage(contextId, command, dataset));
    else this.sendMessage(contextId, command, dataset);
  }

  private sendMessage(contextId: number, command: Uint8Array, dataset?: Uint8Array): void {
    const fragment = this.fragmentSize();
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

  /** P-DATA may still be sent: established, or a release under way (PS3.8 Table 9-10, DT-1 and AR-7). */
  private canSendData(): boolean {
    return !this.closed && (this.state === 'Sta6' || this.state === 'Sta7' || this.state === 'Sta8');
  }

  // ------------------------------------------------------------------------------------ ending

  /** A-ABORT as the service provider (or a close when no association exists yet or any more). */
  abort(reason: number = AbortReason.NotSpecified, why = 'aborted'): void {
    if (this.state === 'Sta13' || this.state === 'Sta1' || this.state === 'Sta4') {
      this.fail(new AssociationError(why));
      this.closeSocket();
      return;
    }
    this.sendAbort(this.requestor ? 0 : 2, reason, why);
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
    this.fail(new AssociationError(`association aborted: ${why}`));
    if (this.requestor) {
      // Ours to close: the peer owes nothing more.
      this.closeSocket();
      return;
    }
    if (restart || !this.artim) this.startArtim();
  }

  /** Every request of the peer's in progress ends: its data set stops with `e`, its handler is told. */
  private failInflight(e: Error): void {
    for (const req of this.byMessageId.values()) {
      req.abort.abort(e);
      req.queue?.fail(e);
    }
    if (this.receiving?.kind === 'request') {
      this.receiving.inflight.abort.abort(e);
      this.receiving.inflight.queue?.fail(e);
    }
  }

  private failWaiters(e: Error): void {
    for (const w of this.waiters.values()) w.fail(e);
    this.waiters.clear();
  }

  /** The association is over for our side: requests of ours fail, a connect in progress fails. */
  private fail(e: AssociationError): void {
    if (!this.closedError) this.closedError = e;
    this.settle?.reject(e);
    this.settle = undefined;
    this.failWaiters(e);
  }

  private send(bytes: Uint8Array): void {
    if (this.closed || !this.socket.writable) return;
    // What is sent in one turn of the event loop (a PDU header and its body, a run of C-FIND responses)
    // leaves in one write, not one system call and segment each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.uncork());
    }
    this.socket.write(bytes);
  }

  /** Lets what is corked go out now. */
  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /** Closes the connection once what was written (an A-ABORT, a last response) has been handed over. */
  private closeSocket(): void {
    this.uncork();
    this.socket.destroy();
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
          if (
            this.running.size === 0 &&
            this.waitingOps.length === 0 &&
            this.waiters.size === 0 &&
            !this.requestor
          )
            this.abort(AbortReason.NotSpecified, 'idle timeout');
          else if (this.waitingOnPeer())
            this.abort(AbortReason.NotSpecified, 'the peer sent nothing while we waited for it');
          else this.armIdle(this.opts.idleMs);
        }),
      ms,
    );
    this.idle.unref();
  }

  private waitingOnPeer(): boolean {
    // A data set we hold back ourselves (storage behind, socket paused) is not the peer's silence.
    const dataset = this.receiving !== undefined && !this.datasetDone && this.pausedBy === 0;
    return dataset || this.awaitingResponse > 0 || this.socket.writableNeedDrain;
  }

  private teardown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.markEnded();
    if (this.info.request) this.opts.onEnd?.(this.info, this.orderly ? 'released' : why);
    this.stopArtim();
    if (this.idle) clearTimeout(this.idle);
    this.failInflight(incomplete(`the association ended (${why}) before the data set did`));
    this.fail(new AssociationError(why));
    this.released?.();
    this.closeSocket();
  }
}

class MissingField extends Error {}
class CancelError extends Error {}

function incomplete(why: string): LanternError {
  return new LanternError('LNT_DIMSE_INCOMPLETE', why);
}

const silentLog = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;
