import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT, EVENT_TYPE } from '../../src/core/audit/events.js';
import { FileCheckpointLog } from '../../src/adapters/audit-checkpoint/file.js';
import { SyslogExporter } from '../../src/adapters/audit-syslog/exporter.js';
import { KyselyAuditStore } from '../../src/adapters/index-sql/audit.js';
import { systemClock } from '../../src/ports/clock.js';
import { AuditService } from '../../src/services/audit.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { openIndexDatabase } from '../helpers/test-index.js';

/** An audit record repository of the test's own: TLS, RFC 5425 octet-counted frames, kept in order. */
class Receiver {
  server: Server | undefined;
  sockets = new Set<Socket>();
  messages: string[] = [];
  constructor(private readonly pems: { cert: string; private: string }) {}
  listen(port = 0): Promise<number> {
    this.server = createServer({ cert: this.pems.cert, key: this.pems.private }, (s) => {
      this.sockets.add(s);
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) break;
          const len = Number(buf.subarray(0, sp).toString());
          if (buf.length < sp + 1 + len) break;
          this.messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
          buf = buf.subarray(sp + 1 + len);
        }
      });
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    });
    return new Promise((resolve) =>
      this.server!.listen(port, '127.0.0.1', () =>
        resolve((this.server!.address() as { port: number }).port),
      ),
    );
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server!.close(r));
  }
}

let archive: TestArchive;
let receiver: Receiver;
let port: number;
const dir = mkdtempSync(join(tmpdir(), 'lantern-syslog-'));

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  writeFileSync(join(dir, 'repo.crt'), pems.cert);
  receiver = new Receiver(pems);
  port = await receiver.listen();
  archive = await startTestArchive({
    settings: {
      'audit.syslog.host': '127.0.0.1',
      'audit.syslog.port': port,
      'audit.syslog.ca': join(dir, 'repo.crt'),
    },
  });
});
afterAll(async () => {
  await archive?.close();
  await receiver?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const login = (n: number) =>
  archive.app.audit.record({
    eventId: EVENT.userAuthentication,
    action: 'E',
    outcome: 0,
    types: [EVENT_TYPE.login],
    participants: [{ userId: `user${n}@site`, requestor: true, networkAccessPoint: '10.0.0.9' }],
  });

describe('audit export to a syslog repository over TLS', () => {
  it('sends every record as RFC 5424 with DICOM audit XML, in order, also after the repository was down', async () => {
    const exporter = archive.app.auditExport as SyslogExporter;
    exporter.start();
    for (let n = 1; n <= 3; n++) await login(n);
    await expect.poll(() => receiver.messages.length, { timeout: 10_000 }).toBe(3);
    const first = receiver.messages[0];
    expect(first).toMatch(/^<85>1 \d{4}-\d\d-\d\dT\S+\+00:00 \S+ lantern \d+ IHE\+RFC-3881 - \uFEFF<\?xml/);
    expect(first).toContain(
      '<EventID csd-code="110114" codeSystemName="DCM" originalText="User Authentication"/>',
    );
    expect(first).toContain('UserID="user1@site"');
    expect(first).toContain('NetworkAccessPointID="10.0.0.9" NetworkAccessPointTypeCode="2"');
    expect(first).toContain('<AuditSourceIdentification AuditEnterpriseSiteID=');
    // The repository goes away; records wait in the trail and arrive in order once it is back.
    await receiver.close();
    for (let n = 4; n <= 6; n++) await login(n);
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.messages.length).toBe(3);
    await receiver.listen(port);
    const users = () => receiver.messages.map((m) => /UserID="(user\d)@site"/.exec(m)?.[1] ?? '');
    await expect.poll(() => users().includes('user6'), { timeout: 15_000 }).toBe(true);
    // Nothing lost, in order: records written just before the break may come a second time (a write to a
    // connection the peer has already closed succeeds locally), never out of order.
    const all = users();
    const expected = ['user1', 'user2', 'user3', 'user4', 'user5', 'user6'];
    expect(new Set(all)).toEqual(new Set(expected));
    expect(expected.map((u) => all.indexOf(u))).toEqual(
      [...expected.map((u) => all.indexOf(u))].sort((a, b) => a - b),
    );
    expect(all.slice(-3)).toEqual(['user4', 'user5', 'user6']);
    expect(exporter.sentUpTo).toBe(6);
  });

  it('signed checkpoints follow the records they vouch for; a stop sends what waits', async () => {
    const exporter = archive.app.auditExport as SyslogExporter;
    exporter.start();
    await login(7);
    await archive.app.audit.checkpoint();
    const checkpoints = () => receiver.messages.filter((m) => / LANTERN-CHECKPOINT - /.test(m));
    await expect.poll(() => checkpoints().length, { timeout: 10_000 }).toBe(1);
    const message = checkpoints()[0];
    expect(message).toMatch(
      /^<85>1 \d{4}-\d\d-\d\dT\S+\+00:00 \S+ lantern \d+ LANTERN-CHECKPOINT - \uFEFF\{/,
    );
    const c = JSON.parse(message.slice(message.indexOf('{'))) as {
      id: number;
      hash: string;
      at: string;
      sig: string;
    };
    // The repository's owner checks it with the public key `lantern audit key` prints.
    const { dataDir } = archive.app.config;
    const publicKey = new FileCheckpointLog(
      join(dataDir, 'audit-checkpoints.jsonl'),
      join(dataDir, 'audit-signing.key'),
    ).publicKey();
    const signed = Buffer.from(`${c.id}|${c.hash}|${c.at}`);
    expect(verify(null, signed, createPublicKey(publicKey), Buffer.from(c.sig, 'base64'))).toBe(true);
    const db = openIndexDatabase(archive.app.config);
    const store = new KyselyAuditStore(db, archive.app.index.dialect);
    try {
      expect(c.hash).toBe((await store.scan(c.id - 1, 1))[0].hash);
      // After the record it vouches for.
      const before = receiver.messages.slice(0, receiver.messages.indexOf(message));
      expect(before.some((m) => m.includes('UserID="user7@site"'))).toBe(true);
      // Records written beside the exporter (it is not told of them) and a stop right after: they are sent
      // before the stop ends, not left for the next start.
      const beside = new AuditService(store, systemClock, {
        sourceId: 'OTHER',
        site: 'site',
        failOpen: false,
      });
      for (let n = 0; n < 5; n++) {
        await beside.record({
          eventId: EVENT.userAuthentication,
          action: 'E',
          outcome: 0,
          types: [EVENT_TYPE.login],
          participants: [{ userId: `beside${n}@site`, requestor: true }],
        });
      }
      await exporter.stop();
      expect(exporter.sentUpTo).toBe((await store.head())!.id);
      expect(receiver.messages.some((m) => m.includes('UserID="beside4@site"'))).toBe(true);
    } finally {
      exporter.start();
      await db.destroy();
    }
  });

  it('a repository that accepts the connection and never speaks TLS does not hold export or stop up', async () => {
    const silent = createNetServer((sock) => sock.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const sockets: Socket[] = [];
    silent.on('connection', (sock) => sockets.push(sock));
    const warnings: string[] = [];
    // The trail through a connection of the test's own: the exporter only reads it.
    const db = openIndexDatabase(archive.app.config);
    const exporter = new SyslogExporter(new KyselyAuditStore(db, archive.app.index.dialect), {
      host: '127.0.0.1',
      port: (silent.address() as AddressInfo).port,
      cursorFile: join(dir, 'silent.cursor'),
      idleMs: 500,
      retryMs: 200,
      log: { warn: (_o: unknown, m: string) => warnings.push(m), info: () => undefined } as never,
    });
    try {
      exporter.start();
      // It gives the silent repository up and tries again, instead of waiting for ever.
      await expect.poll(() => sockets.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(warnings).toContain('audit repository unreachable; records wait');
      // And stopping while a connection is being made returns at once.
      await exporter.stop();
      expect(exporter.sentUpTo).toBe(0);
    } finally {
      sockets.forEach((sock) => sock.destroy());
      await new Promise<void>((r) => silent.close(() => r()));
      await db.destroy();
    }
  });
});
