import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';

// Behind a reverse proxy (http.trustProxy) and with the Host header checked (http.allowedHosts).

const PASSWORD = 'proxy-lighthouse-harbour-2026';

interface Served {
  archive: TestArchive;
  http: FastifyInstance;
  port: number;
}

async function serve(settings: Record<string, unknown>): Promise<Served> {
  const archive = await startTestArchive({
    settings: { 'security.authentication': true, ...settings },
  });
  const http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  return { archive, http, port: (http.server.address() as { port: number }).port };
}

/** A request with the headers a browser or a proxy would send, Host included (fetch cannot set it). */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            /* not JSON */
          }
          done({ status: res.statusCode!, headers: res.headers, json });
        });
      },
    );
    req.on('error', fail);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

const logs = mkdtempSync(join(tmpdir(), 'lantern-access-'));
const accessLog = join(logs, 'access.log');
afterAll(() => rmSync(logs, { recursive: true, force: true }));

describe('behind a trusted reverse proxy, with allowed hosts', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({
      'log.access': accessLog,
      'http.trustProxy': ['127.0.0.1'],
      'http.allowedHosts': ['pacs.example.org', '*.imaging.example.org'],
      'security.lockoutThreshold': 5,
      'security.addressThreshold': 3,
    });
    await s.archive.app.auth.createAccount({ login: 'rad7', roles: ['radiologist'] }, PASSWORD);
  });
  afterAll(async () => {
    await s?.http.close();
    await s?.archive.close();
  });

  it('answers only for the allowed host names (421 for the rest, as a DNS-rebinding page would send)', async () => {
    for (const [host, status] of [
      ['pacs.example.org', 200],
      [`pacs.example.org:${s.port}`, 200],
      ['PACS.Example.Org', 200],
      ['viewer.imaging.example.org', 200],
      ['imaging.example.org', 421],
      ['evil.example', 421],
      ['pacs.example.org.evil.example', 421],
      ['127.0.0.1', 421],
    ] as const) {
      const r = await call(s.port, 'GET', '/healthz', { Host: host });
      expect(r.status, host).toBe(status);
      if (status === 421) expect(r.json.code).toBe('LNT_HTTP_HOST_NOT_ALLOWED');
    }
  });

  it('takes the client address and scheme from the proxy: the throttle keys on the real client, the cookie is Secure and __Host-', async () => {
    const host = { Host: 'pacs.example.org' };
    for (let i = 0; i < 3; i++) {
      const r = await call(
        s.port,
        'POST',
        '/api/auth/login',
        { ...host, 'X-Forwarded-For': '10.1.1.1' },
        { login: `guess${i}`, password: 'not-the-password-at-all' },
      );
      expect(r.status).toBe(401);
    }
    const throttled = await call(
      s.port,
      'POST',
      '/api/auth/login',
      { ...host, 'X-Forwarded-For': '10.1.1.1' },
      { login: 'rad7', password: PASSWORD },
    );
    expect([throttled.status, throttled.json.code]).toEqual([429, 'LNT_AUTH_LOCKED']);
    // Another client behind the same proxy is not throttled by the first one's guesses.
    const other = await call(
      s.port,
      'POST',
      '/api/auth/login',
      { ...host, 'X-Forwarded-For': '10.2.2.2', 'X-Forwarded-Proto': 'https' },
      { login: 'rad7', password: PASSWORD },
    );
    expect(other.status).toBe(200);
    const cookie = String(other.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-lantern_session=[\w-]+;.*; Secure; SameSite=Strict$/);
    // The session records the client's address, and the trail the failed logins' one.
    const me = await call(s.port, 'GET', '/api/auth/sessions', {
      ...host,
      'X-Forwarded-For': '10.2.2.2',
      'X-Forwarded-Proto': 'https',
      Cookie: cookie.split(';')[0],
    });
    expect(me.status).toBe(200);
    expect((me.json as unknown as { address: string }[])[0].address).toBe('10.2.2.2');
    const failed = await s.archive.app.audit.list({ eventId: '110114', outcome: 4 }, 10, 0);
    expect(failed.map((f) => f.event.participants.find((p) => p.requestor)?.networkAccessPoint)).toContain(
      '10.1.1.1',
    );
  });
});

describe('the HTTP access log', () => {
  it('has a line per request: method, route as declared, status, time, user, address; never the values', async () => {
    const s = await serve({ 'log.access': join(logs, 'second.log') });
    await s.archive.app.auth.createAccount({ login: 'bot1', roles: ['clinician'], kind: 'service' });
    const token = (await s.archive.app.auth.createToken('bot1')).token;
    const host = { Host: '127.0.0.1' };
    await call(s.port, 'GET', '/dicom-web/studies?PatientID=SECRET-PID-4711', host);
    await call(s.port, 'GET', '/dicom-web/studies?PatientName=Secret%5EPatient', {
      ...host,
      Authorization: `Bearer ${token}`,
    });
    await call(s.port, 'GET', '/dicom-web/studies/1.2.826.0.1.3680043.8.498.777/metadata', {
      ...host,
      Authorization: `Bearer ${token}`,
    });
    await call(s.port, 'GET', '/no/such/route', host);
    await s.http.close();
    await s.archive.close();
    const lines = readFileSync(join(logs, 'second.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => `${l.method} ${l.route} ${l.status} ${l.user}`)).toEqual([
      'GET /dicom-web/studies 401 -',
      'GET /dicom-web/studies 200 bot1',
      'GET /dicom-web/studies/:study/metadata 404 bot1',
      'GET (no route) 401 -',
    ]);
    for (const l of lines) {
      expect(typeof l.ms).toBe('number');
      expect(l.address).toBe('127.0.0.1');
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    const text = readFileSync(join(logs, 'second.log'), 'utf8');
    for (const secret of ['SECRET-PID-4711', 'Secret', '1.2.826.0.1.3680043.8.498.777', 'lnt_'])
      expect(text).not.toContain(secret);
  });
});

describe('on loopback with no allowed hosts set', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ 'http.host': '127.0.0.1' });
  });
  afterAll(async () => {
    await s?.http.close();
    await s?.archive.close();
  });

  it('answers loopback names only, and trusts no forwarded header', async () => {
    for (const [host, status] of [
      [`127.0.0.1:${s.port}`, 200],
      [`localhost:${s.port}`, 200],
      [`[::1]:${s.port}`, 200],
      ['rebind.attacker.example', 421],
    ] as const) {
      expect((await call(s.port, 'GET', '/healthz', { Host: host })).status, host).toBe(status);
    }
    const once = await s.archive.app.auth.bootstrap();
    const r = await call(
      s.port,
      'POST',
      '/api/auth/login',
      { Host: 'localhost', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '10.9.9.9' },
      { login: 'admin', password: once },
    );
    expect(r.status).toBe(200);
    expect(String(r.headers['set-cookie'])).toMatch(/^lantern_session=/);
    expect(String(r.headers['set-cookie'])).not.toMatch(/Secure/);
  });
});
