import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { Permission } from '../../core/security/roles.js';
import { ConfigError } from '../../core/errors.js';
import {
  type Admission,
  Association,
  type AcceptOptions,
  type Rejection,
} from '../../net/dimse/association.js';
import type { Party } from '../../services/clinical-audit.js';
import { StoredPerAssociation } from './stored-log.js';
import { ServiceRegistry } from './registry.js';
import { SERVICE_CLASSES, type ServiceDeps } from './service-classes.js';
import type { AAssociateRq } from '../../core/ul/pdu.js';

/** The listener's settings, and what its services are made of (each association's batch log aside). */
export interface DimseServerOptions extends Omit<ServiceDeps, 'storedLog'> {
  readonly host: string;
  readonly port: number;
  /** Established associations at once; beyond, A-ASSOCIATE-RJ (transient, local limit exceeded). */
  readonly maxAssociations: number;
  /**
   * Connections not yet associated (waiting for their A-ASSOCIATE-RQ, being admitted, or rejected and
   * closing), in all and from one address: when a budget is full, the oldest such connection is closed to
   * make room for the new one. Default 64 and 8.
   */
  readonly maxPending?: number;
  readonly maxPendingPerAddress?: number;
  readonly maxPduLength: number;
  readonly artimMs: number;
  /** Decides whether a calling AE may associate (the AE registry). */
  /**
   * The registry's decision on a caller (its address, and the SHA-256 of its TLS client certificate when it
   * presented one): admitted or not, and why.
   */
  readonly admitCaller: (
    callingAeTitle: string,
    address: string,
    peer: { readonly certSha256?: string },
  ) => Promise<{ readonly admitted: boolean; readonly why?: string }>;
  /** Checks a user identity's username and passcode (PS3.7 D.3.3.7) against the accounts. */
  readonly verifyUser?: (
    login: string,
    passcode: string,
    address: string,
  ) => Promise<{ login: string; permissions: ReadonlySet<Permission> } | undefined>;
  /** Associations without a valid username/passcode identity are rejected. */
  readonly requireUserIdentity?: boolean;
  /** Records a peer admitted or refused (the AE registry's audit event). */
  readonly recordAdmission?: (peer: Party, accepted: boolean, reason?: string) => Promise<void>;
  /** An error no handler expected in an association's code (it is aborted; others go on). */
  readonly onFault?: (e: Error, where: string) => void;
  /** The plain (clear-text) port; false turns it off, leaving TLS only (dicom.plainPort). */
  readonly plain?: boolean;
  /** DICOM TLS on its own port (PS3.15 B.9), when configured. */
  readonly tls?: {
    readonly port: number;
    readonly cert: Buffer;
    readonly key: Buffer;
    /** CA certificates that client certificates must chain to; asks clients for a certificate. */
    readonly ca?: Buffer;
    readonly requireClientCert: boolean;
  };
}

interface PendingConnection {
  readonly key: string;
  /** The TCP connection (under TLS, the one beneath it). */
  readonly socket: Socket;
  readonly address: string;
  /** Its A-ASSOCIATE-RQ is being decided on: it holds a slot and is not evicted. */
  admitting: boolean;
}

/** The DICOM listener: one Association per connection, a cap on how many run at once. */
export async function startDimseServer(o: DimseServerOptions): Promise<DimseServers> {
  // Instances stored are recorded per association, when it ends.
  const storedLog = new StoredPerAssociation(o.ingest);
  const registry = new ServiceRegistry(SERVICE_CLASSES, { ...o, storedLog });
  const maxPending = o.maxPending ?? 64;
  const maxPendingPerAddress = o.maxPendingPerAddress ?? 8;
  /** Connections not yet associated, oldest first, by remote address and port. */
  const pending = new Map<string, PendingConnection>();
  /** Connections holding an association slot: being admitted, or established. */
  const slots = new Set<Socket>();
  const base: Omit<AcceptOptions, 'admit'> = {
    aeTitle: o.aeTitle,
    capabilities: registry.capabilities(),
    route: (context, field) => registry.route(context, field),
    maxPduLength: o.maxPduLength,
    artimMs: o.artimMs,
    idleMs: o.idleMs,
    log: o.log,
    onFault: o.onFault,
    implementationClassUid: o.implementationClassUid,
    implementationVersionName: o.implementationVersionName,
    onEnd: (info, how) => {
      storedLog
        .ended(info, how)
        .catch((e: unknown) =>
          o.log.error({ err: { message: (e as Error).message } }, 'audit of stored instances failed'),
        );
    },
  };
  const keyOf = (sock: Socket) => `${sock.remoteAddress}|${sock.remotePort}`;
  /**
   * Makes room for a new connection from `address`: the oldest connection not yet associated goes, of that
   * address when it holds its share. One whose A-ASSOCIATE-RQ is being decided on (it holds a slot, and
   * may be waiting for a password check) is not evicted.
   */
  const makeRoom = (address: string) => {
    let all = 0;
    let fromAddress = 0;
    let oldest: PendingConnection | undefined;
    let oldestOfAddress: PendingConnection | undefined;
    for (const c of pending.values()) {
      if (c.admitting) continue;
      all++;
      oldest ??= c;
      if (c.address !== address) continue;
      fromAddress++;
      oldestOfAddress ??= c;
    }
    const victim =
      fromAddress >= maxPendingPerAddress ? oldestOfAddress : all >= maxPending ? oldest : undefined;
    if (!victim) return;
    o.log.warn({ address: victim.address }, 'DICOM connection not yet associated closed to make room');
    pending.delete(victim.key);
    victim.socket.destroy();
  };
  /** A new TCP connection (for TLS, before its handshake: the handshake counts as not yet associated). */
  const track = (raw: Socket) => {
    const address = (raw.remoteAddress ?? '').replace(/^::ffff:/, '');
    makeRoom(address);
    const key = keyOf(raw);
    pending.set(key, { key, socket: raw, address, admitting: false });
    raw.once('close', () => {
      if (pending.get(key)?.socket === raw) pending.delete(key);
    });
  };
  /** The association on a connection (plain, or TLS once its handshake is done). */
  const associate = (socket: Socket) => {
    const key = keyOf(socket);
    const mark = (admitting: boolean) => {
      const c = pending.get(key);
      if (c) c.admitting = admitting;
    };
    socket.once('close', () => slots.delete(socket));
    Association.accept(socket, {
      ...base,
      onRequest: () => mark(true),
      onEstablished: () => pending.delete(key),
      admit: async (rq, address) => {
        const decision = await decide(rq, address, socket);
        if (decision && 'result' in decision) {
          // Rejected: it waits for the peer to close (ARTIM), evictable again meanwhile.
          slots.delete(socket);
          mark(false);
        }
        const rejected = decision && 'result' in decision;
        await o.recordAdmission?.(
          { kind: 'peer', aeTitle: rq.callingAeTitle, address },
          !rejected,
          rejected ? `reason ${decision.reason}` : undefined,
        );
        return decision;
      },
    });
  };
  const decide = async (
    rq: AAssociateRq,
    address: string,
    socket: Socket,
  ): Promise<Rejection | Admission | undefined> => {
    {
      // Only associations count against the cap; a slot is held from here on, so that admissions running
      // at the same time cannot together pass it.
      if (!slots.has(socket) && slots.size >= o.maxAssociations) return { result: 2, source: 3, reason: 2 }; // local limit exceeded
      slots.add(socket);
      const cert = socket instanceof TLSSocket ? socket.getPeerCertificate()?.fingerprint256 : undefined;
      const caller = await o.admitCaller(rq.callingAeTitle, address, { certSha256: cert || undefined });
      if (!caller.admitted) return { result: 1, source: 1, reason: 3 }; // calling AE not recognized
      // User identity: a username and passcode is checked (a wrong one is refused whether or not the site
      // requires one); a bare username proves nothing; other types are not supported.
      const id = rq.userInformation.userIdentity;
      let user: Admission['user'];
      if (id?.type === 2 && o.verifyUser) {
        const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
        user = await o.verifyUser(text(id.primary), text(id.secondary), address);
        if (!user) return { result: 1, source: 1, reason: 1 };
      }
      if (o.requireUserIdentity && !user) return { result: 1, source: 1, reason: 1 };
      return { user };
    }
  };
  if (o.plain === false && !o.tls)
    throw new ConfigError('dicom.plainPort is false but no DICOM TLS is configured: nothing would listen');
  const plain =
    o.plain === false
      ? undefined
      : createServer((socket) => {
          track(socket);
          associate(socket);
        });
  const servers: Server[] = plain ? [plain] : [];
  let tlsServer: Server | undefined;
  if (o.tls) {
    // PS3.15 B.9 (BCP 195): TLS 1.2 or later with the recommended AEAD suites. A failed handshake closes the
    // connection; this port never speaks clear text.
    tlsServer = createTlsServer(
      {
        cert: o.tls.cert,
        key: o.tls.key,
        ca: o.tls.ca,
        requestCert: !!o.tls.ca,
        rejectUnauthorized: o.tls.requireClientCert,
        minVersion: 'TLSv1.2',
        // A handshake is part of getting associated: it gets the ARTIM deadline, not Node's two minutes.
        handshakeTimeout: o.artimMs,
        ciphers: BCP195_CIPHERS,
        honorCipherOrder: true,
      },
      associate,
    )
      .on('connection', track)
      .on('tlsClientError', (e: Error) => o.log.warn({ why: e.message }, 'TLS handshake failed'));
    servers.push(tlsServer);
  }
  // No connection cap of Node's (it would drop new sockets, legitimate ones included): associations are
  // capped with an A-ASSOCIATE-RJ, and connections not yet associated by the pending budget above.
  const listen = (srv: Server, port: number) =>
    new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, o.host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
  if (plain) await listen(plain, o.port);
  if (tlsServer) {
    try {
      await listen(tlsServer, o.tls!.port);
    } catch (e) {
      plain?.close();
      throw e;
    }
  }
  // Once listening, an error (accept failing when file descriptors run out) is logged, never fatal.
  for (const srv of servers)
    srv.on('error', (e: Error) => o.log.error({ err: { message: e.message } }, 'DICOM listener error'));
  return {
    servers,
    address: (k = 0) => (k === 0 ? plain : tlsServer)?.address() as AddressInfo,
    close: async () => {
      await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
      // The associations that ended have their transfers recorded before the app closes.
      await storedLog.settled();
    },
  };
}

/** TLS 1.2 suites of the BCP 195 profile (PS3.15 B.9); TLS 1.3 suites are Node's defaults. */
export const BCP195_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':');

export interface DimseServers {
  readonly servers: readonly Server[];
  /** The address of the plain (0) or TLS (1) listener (undefined when it is off). */
  address(k?: number): AddressInfo;
  close(): Promise<void>;
}
