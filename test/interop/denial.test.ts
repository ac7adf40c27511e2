import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';

// Denial of service as an attacker tries it: a query that would take exponential time, guesses sent all at
// once to beat the lockout, and clients that trickle their requests or open connection after connection.
// "Answered in time" is the client's own deadline (fetch's AbortSignal, DCMTK's -td), never a measurement.

let archive: TestArchive;
let http: FastifyInstance;
let port: number;
let token: string;
const PASSWORD = 'lantern-denial-of-service-test';

beforeAll(async () => {
  archive = await startTestArchive({
    settings: {
      'security.authentication': true,
      'security.lockoutThreshold': 5,
      'security.addressThreshold': 20,
      'http.requestTimeoutSeconds': 2,
      'http.idleSeconds': 3,
    },
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  port = (http.server.address() as { port: number }).port;
  await archive.app.auth.createAccount({ login: 'reader', roles: ['radiologist'] }, PASSWORD);
  await archive.app.auth.createAccount({ login: 'reader-svc', roles: ['radiologist'], kind: 'service' });
  token = (await archive.app.auth.createToken('reader-svc')).token;
  await archive.app.aes.add({ mode: 'device', aeTitle: 'FINDSCU', host: '', port: 0, permissions: ['find'] });
  // Long values made of the letter a wildcard pattern keeps almost matching.
  for (let i = 0; i < 200; i++) {
    const s = synthInstance({
      patientId: `DOS${i}`,
      patientName: `${'A'.repeat(30)}^${'A'.repeat(30)}`,
      studyDescription: 'A'.repeat(64),
    });
    await archive.app.ingest.ingest({ chunks: [s.bytes], source: 'TEST' });
  }
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
});

const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const auth = () => ({ Authorization: `Bearer ${token}` });

describe('a query cannot freeze the process', () => {
  const thirty = `${'*A'.repeat(29)}*B`;

  it('QIDO-RS with 30 wildcards against 200 long values is answered, and so is everything else meanwhile', async () => {
    for (const key of ['StudyDescription', 'PatientName']) {
      const q = fetch(url(`/dicom-web/studies?${key}=${encodeURIComponent(thirty)}`), {
        headers: auth(),
        signal: AbortSignal.timeout(2000),
      });
      const health = fetch(url('/healthz'), { signal: AbortSignal.timeout(2000) });
      const [r, h] = await Promise.all([q, health]);
      expect(r.status, key).toBe(200);
      expect(await r.json()).toEqual([]);
      expect(h.status).toBe(200);
      // The same with a match at the end: every study.
      const all = await fetch(url(`/dicom-web/studies?${key}=${encodeURIComponent(`${'*A'.repeat(29)}*`)}`), {
        headers: auth(),
        signal: AbortSignal.timeout(2000),
      });
      expect(((await all.json()) as unknown[]).length).toBe(200);
    }
  });

  it('C-FIND with the same key is answered within DCMTK findscu -td 2', async () => {
    const r = await runDcmtk('findscu', [
      '-to',
      '2',
      '-td',
      '2',
      '-S',
      '-aet',
      'FINDSCU',
      '-aec',
      'LANTERN',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyDescription=${thirty}`,
      '127.0.0.1',
      String(archive.port),
    ]);
    expect(r.code, r.out).toBe(0);
  });

  it('more than 64 wildcards in one value are refused with the reason', async () => {
    const r = await fetch(url(`/dicom-web/studies?StudyDescription=${'*'.repeat(65)}A`), { headers: auth() });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/at most 64 wildcards/);
  });
});

describe('the login lockout holds against guesses sent at once', () => {
  it('50 guesses at the same time, the right one among them: at most 5 are checked', async () => {
    const guesses = Array.from({ length: 50 }, (_, i) => (i === 25 ? PASSWORD : `wrong-guess-${i}`));
    const answers = await Promise.all(
      guesses.map((password) =>
        fetch(url('/api/auth/login'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ login: 'reader', password }),
        }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { code?: string }).code })),
      ),
    );
    // Checked: a wrong password (401) or the right one (200). Refused before any check: locked (429).
    const checked = answers.filter((a) => a.status === 401 || a.status === 200);
    const locked = answers.filter((a) => a.code === 'LNT_AUTH_LOCKED');
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(checked.length + locked.length).toBe(50);
    // And the account is locked now, the right password included.
    const after = await fetch(url('/api/auth/login'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: 'reader', password: PASSWORD }),
    });
    expect(after.status).toBe(429);
  });
});

describe('the lockout does not turn on legitimate users', () => {
  const loginFrom = (login: string, password: string, localAddress = '127.0.0.1') =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ login, password });
      const req = request(
        {
          host: '127.0.0.1',
          port,
          localAddress,
          method: 'POST',
          path: '/api/auth/login',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('eight right passwords at once for one account all get in (the extra ones wait their turn)', async () => {
    await archive.app.auth.createAccount({ login: 'busy', roles: ['radiologist'] }, PASSWORD);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => loginFrom('busy', PASSWORD, '127.0.0.3')),
    );
    expect(answers).toEqual(Array(8).fill(200));
  });

  it('a throttled address cannot lock the accounts it tries, and others still log in', async () => {
    await archive.app.auth.createAccount({ login: 'bystander', roles: ['radiologist'] }, PASSWORD);
    // Twenty failures on as many names throttle the address.
    for (let i = 0; i < 20; i++) await loginFrom(`nobody${i}`, 'wrong', '127.0.0.4');
    expect(await loginFrom('bystander', PASSWORD, '127.0.0.4')).toBe(429);
    // From it, guesses at another account are refused before they count against that account...
    for (let i = 0; i < 10; i++) expect(await loginFrom('bystander', 'wrong', '127.0.0.4')).toBe(429);
    // ...so the account is not locked for its owner elsewhere.
    expect(await loginFrom('bystander', PASSWORD, '127.0.0.5')).toBe(200);
  });
});

/** A raw HTTP client: writes what it is told, and tells when the server closed the connection. */
function rawClient(p = port, localAddress?: string) {
  const s: Socket = connect({ port: p, host: '127.0.0.1', localAddress });
  let data = '';
  s.on('data', (d) => (data += d.toString()));
  s.on('error', () => undefined);
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  return { s, closed, data: () => data, connected: new Promise<void>((r) => s.once('connect', () => r())) };
}

async function closedWithin(c: ReturnType<typeof rawClient>, ms: number): Promise<boolean> {
  return Promise.race([
    c.closed.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ]);
}

describe('slow clients hold nothing for long', () => {
  it('a login body trickled a byte at a time gets 408 at the request deadline, and the connection closes', async () => {
    const c = rawClient();
    await c.connected;
    const body = JSON.stringify({ login: 'reader', password: 'x'.repeat(40) });
    c.s.write(
      `POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    let sent = 0;
    const timer = setInterval(() => c.s.write(body.slice(sent, ++sent)), 300);
    try {
      expect(await closedWithin(c, 6000)).toBe(true);
      expect(sent).toBeLessThan(body.length);
      expect(c.data()).toMatch(/^HTTP\/1.1 408/);
      expect(c.data()).toContain('LNT_HTTP_TIMEOUT');
    } finally {
      clearInterval(timer);
    }
  });

  it('headers trickled a byte at a time, and a connection that sends nothing, are closed', async () => {
    const trickle = rawClient();
    const silent = rawClient();
    await Promise.all([trickle.connected, silent.connected]);
    const head = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ' + 'p'.repeat(200) + '\r\n\r\n';
    let sent = 0;
    const timer = setInterval(() => trickle.s.write(head.slice(sent, ++sent)), 100);
    try {
      expect(await closedWithin(trickle, 8000)).toBe(true);
      expect(sent).toBeLessThan(head.length);
      expect(await closedWithin(silent, 8000)).toBe(true);
    } finally {
      clearInterval(timer);
    }
  });
});

describe('connections per address', () => {
  let capped: TestArchive;
  let server: FastifyInstance;
  let cport: number;
  beforeAll(async () => {
    capped = await startTestArchive({ settings: { 'http.maxConnectionsPerAddress': 4 } });
    server = await buildHttpServer(capped.app);
    await server.listen({ host: '127.0.0.1', port: 0 });
    cport = (server.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await server?.close();
    await capped?.close();
  });

  it('past the cap a new connection gets 429 and is closed; other addresses are served', async () => {
    const held = Array.from({ length: 4 }, () => rawClient(cport));
    await Promise.all(held.map((c) => c.connected));
    const extra = rawClient(cport);
    await extra.connected;
    expect(await closedWithin(extra, 2000)).toBe(true);
    expect(extra.data()).toMatch(/^HTTP\/1.1 429/);
    expect(extra.data()).toContain('LNT_HTTP_TOO_MANY_CONNECTIONS');
    // Another address is not affected.
    const other = rawClient(cport, '127.0.0.2');
    await other.connected;
    other.s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await closedWithin(other, 2000);
    expect(other.data()).toMatch(/^HTTP\/1.1 200/);
    // Once one closes, the address may connect again.
    held[0].s.destroy();
    await held[0].closed;
    const again = rawClient(cport);
    await again.connected;
    again.s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await closedWithin(again, 2000);
    expect(again.data()).toMatch(/^HTTP\/1.1 200/);
    held.forEach((c) => c.s.destroy());
  });
});
