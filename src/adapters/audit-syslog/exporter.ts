import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { connect, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { AuditEvent } from '../../core/audit/events.js';
import { checkpointFrame, syslogFrame } from '../../core/audit/xml.js';
import type { AuditStore } from '../../ports/audit.js';
import type { SignedCheckpoint } from '../../ports/audit-checkpoints.js';

/** Destroys `s` when it makes no progress for `ms` (its pending write or handshake then fails). */
function watch(s: TLSSocket, ms: number): void {
  s.setTimeout(ms, () => s.destroy(new Error(`no progress with the audit repository for ${ms / 1000} s`)));
}

const RESEND_WINDOW_MS = 30_000;
/** Checkpoints waiting to be sent, at most (each covers the chain up to its head: the newest matter most). */
const MAX_CHECKPOINTS = 100;

export interface SyslogOptions {
  readonly host: string;
  readonly port: number;
  /** CA certificates (PEM) the repository's certificate must chain to. */
  readonly ca?: Buffer;
  /** Our client certificate and key (PEM), when the repository asks for one. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Where the number of the last record sent is kept (the audit trail itself is the spool). */
  readonly cursorFile: string;
  readonly retryMs?: number;
  /** How long the connection may make no progress (handshake, or a write not taken); default 60 s. */
  readonly idleMs?: number;
  readonly log: Logger;
}

/**
 * Sends the audit trail to an audit record repository as RFC 5424 syslog over TLS (RFC 5425), in order.
 * The trail in the database is the durable spool: a cursor file says how far the repository has been sent
 * to; while it cannot be reached, records wait, and are sent in order once it can.
 */
export class SyslogExporter {
  private cursor: number;
  private socket: TLSSocket | undefined;
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly host = hostname();
  /**
   * Records written on the current connection in the last RESEND_WINDOW_MS: a write succeeds locally even when
   * the peer is already gone, so after a failure these are sent again (the repository may see a record twice,
   * never miss one).
   */
  private recent: { id: number; at: number }[] = [];
  /** Set while a stop waits for what is waiting to be sent: called once nothing is. */
  private drained: (() => void) | undefined;
  /** Checkpoints written and not yet sent; each goes after the record it vouches for. */
  private checkpoints: SignedCheckpoint[] = [];

  constructor(
    private readonly store: AuditStore,
    private readonly o: SyslogOptions,
  ) {
    this.cursor = existsSync(o.cursorFile) ? Number(readFileSync(o.cursorFile, 'utf8').trim()) || 0 : 0;
  }

  /** The number of the last record sent. */
  get sentUpTo(): number {
    return this.cursor;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New records are waiting. */
  notify(): void {
    this.wake?.();
  }

  /**
   * A checkpoint was written: it is sent too (MSGID LANTERN-CHECKPOINT), once the records up to it are, so
   * that the repository's owner holds the signed heads of the chain. Kept in memory: one lost with a broken
   * connection or a restart is covered by the next.
   */
  checkpointed(c: SignedCheckpoint): void {
    this.checkpoints.push(c);
    if (this.checkpoints.length > MAX_CHECKPOINTS) this.checkpoints.shift();
    this.notify();
  }

  /** The oldest checkpoint whose records have been sent. */
  private dueCheckpoint(): SignedCheckpoint | undefined {
    const c = this.checkpoints[0];
    return c && c.id <= this.cursor ? c : undefined;
  }

  /**
   * Stops exporting. While connected, what is waiting (the stop's own records, its checkpoint) is sent
   * first, for at most `drainMs`; a repository that cannot be reached never holds the stop up (what waits
   * is sent after the next start; its checkpoints are covered by the next one).
   */
  async stop(drainMs = 5000): Promise<void> {
    let emptied = true;
    if (this.running && this.socket && drainMs > 0) {
      const drained = new Promise<boolean>((resolve) => (this.drained = () => resolve(true)));
      this.notify();
      let timer: ReturnType<typeof setTimeout> | undefined;
      emptied = await Promise.race([
        drained,
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), drainMs))),
      ]);
      clearTimeout(timer);
      this.drained = undefined;
    }
    this.running = false;
    this.notify();
    // A connection still being made is given up at once, and one whose write the drain's time did not see
    // through: stopping never waits for a silent repository.
    this.connecting?.destroy();
    if (!emptied) this.socket?.destroy();
    await this.loop;
    this.socket?.end();
    this.socket = undefined;
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private connecting: TLSSocket | undefined;

  private connect(): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = connect({
        host: this.o.host,
        port: this.o.port,
        servername: /^[\d.:]+$/.test(this.o.host) ? undefined : this.o.host,
        ca: this.o.ca,
        cert: this.o.cert,
        key: this.o.key,
        minVersion: 'TLSv1.2',
      });
      s.setNoDelay(true);
      this.connecting = s;
      // A repository that accepts the connection but never completes TLS, or stops reading, is given up on
      // (and tried again later): export never hangs, nor does stopping. Idle between records, no timer.
      watch(s, this.o.idleMs ?? 60_000);
      s.once('secureConnect', () => {
        s.setTimeout(0);
        this.connecting = undefined;
        resolve(s);
      });
      // Every error is listened to (a second one must not be uncaught); after the connect, 'close' follows.
      s.on('error', (e) => reject(e));
      s.on('close', () => {
        // Closed before the handshake ended (given up, or stopped): the connect fails (no-op once resolved).
        reject(new Error('the connection closed before TLS was established'));
        if (this.connecting === s) this.connecting = undefined;
        if (this.socket !== s) return;
        // Closed by the peer: what it may not have read is sent again on the next connection.
        this.socket = undefined;
        if (this.recent.length) this.cursor = Math.min(this.cursor, this.recent[0].id - 1);
        this.recent = [];
      });
      // The repository never speaks; whatever it sends is ignored.
      s.on('data', () => undefined);
    });
  }

  private write(s: TLSSocket, frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (s.destroyed) return reject(new Error('connection closed'));
      watch(s, this.o.idleMs ?? 60_000);
      s.write(frame, (err) => {
        s.setTimeout(0);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private saveCursor(): void {
    const tmp = `${this.o.cursorFile}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, String(this.cursor));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.o.cursorFile);
  }

  private async run(): Promise<void> {
    let failing = false;
    while (this.running) {
      try {
        const rows = await this.store.scan(this.cursor, 200);
        if (!rows.length && !this.dueCheckpoint()) {
          this.drained?.();
          await this.sleep(1000);
          continue;
        }
        if (!this.socket) {
          this.socket = await this.connect();
          this.socket.setKeepAlive(true, 10_000);
          this.recent = [];
        }
        for (const r of rows) {
          await this.write(this.socket, syslogFrame(JSON.parse(r.event) as AuditEvent, this.host));
          this.cursor = r.id;
          const now = Date.now();
          this.recent.push({ id: r.id, at: now });
          while (this.recent.length && now - this.recent[0].at > RESEND_WINDOW_MS) this.recent.shift();
        }
        for (let c = this.dueCheckpoint(); c; c = this.dueCheckpoint()) {
          await this.write(this.socket, checkpointFrame(c, this.host));
          this.checkpoints.shift();
        }
        this.saveCursor();
        if (failing) this.o.log.info('audit repository reachable again');
        failing = false;
      } catch (e) {
        this.socket?.destroy();
        this.socket = undefined;
        if (this.recent.length) this.cursor = Math.min(this.cursor, this.recent[0].id - 1);
        this.recent = [];
        if (!failing)
          this.o.log.warn(
            { err: { message: (e as Error).message } },
            'audit repository unreachable; records wait',
          );
        failing = true;
        await this.sleep(this.o.retryMs ?? 2000);
      }
    }
  }
}
