import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';

const bin = resolve(import.meta.dirname, '../../bin/lantern.js');
const dir = mkdtempSync(join(tmpdir(), 'lantern-https-'));
let archive: TestArchive;
let http: FastifyInstance;
let port: number;
let ca: Buffer;

beforeAll(async () => {
  const out = await promisify(execFile)('node', [
    bin,
    'cert',
    'self-signed',
    '--out',
    dir,
    '--name',
    'localhost',
    '--name',
    '127.0.0.1',
  ]);
  expect(out.stdout).toContain('lantern.crt');
  ca = readFileSync(join(dir, 'lantern.crt'));
  // One certificate for HTTPS and DICOM TLS: only http.tls* is set.
  archive = await startTestArchive({
    settings: {
      'security.authentication': true,
      'http.tlsCert': join(dir, 'lantern.crt'),
      'http.tlsKey': join(dir, 'lantern.key'),
    },
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  port = (http.server.address() as { port: number }).port;
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  rmSync(dir, { recursive: true, force: true });
});

function https(
  method: string,
  path: string,
  body?: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        servername: 'localhost',
        headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...extra },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => done({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

describe('TLS', () => {
  it('serves HTTPS with the certificate from `lantern cert self-signed`, with HSTS and a Secure session cookie', async () => {
    const health = await https('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    const once = await archive.app.auth.bootstrap();
    const login = await https('POST', '/api/auth/login', JSON.stringify({ login: 'admin', password: once }));
    expect(login.status).toBe(200);
    const set = String(login.headers['set-cookie']);
    expect(set).toMatch(
      /^__Host-lantern_session=[\w-]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    const me = await https('GET', '/api/auth/me', undefined, { Cookie: set.split(';')[0] });
    expect(me.status).toBe(200);
    // The plain name is not read over HTTPS (a cookie set without Secure cannot stand in for it).
    const plain = set.split(';')[0].replace('__Host-', '');
    expect((await https('GET', '/api/auth/me', undefined, { Cookie: plain })).status).toBe(401);
    // A client that does not trust the certificate cannot connect.
    await expect(
      new Promise((done, fail) => get({ host: '127.0.0.1', port, path: '/healthz' }, done).on('error', fail)),
    ).rejects.toThrow(/self.signed|certificate/i);
    expect(archive.app.config.http.host).toBe('0.0.0.0'); // TLS configured: no longer loopback by default
  });

  it('uses the same certificate for DICOM TLS: storescu over TLS stores an instance', async () => {
    await archive.app.aes.add({
      mode: 'device',
      aeTitle: 'TLSSCU',
      host: '',
      port: 0,
      permissions: ['store'],
    });
    const inst = synthInstance({ patientId: 'TLS1', rows: 8, columns: 8 });
    const file = join(dir, 'i.dcm');
    writeFileSync(file, inst.bytes);
    const r = await runDcmtk('storescu', [
      '+tla',
      '+cf',
      join(dir, 'lantern.crt'),
      '-aet',
      'TLSSCU',
      '-aec',
      'LANTERN',
      '127.0.0.1',
      String(archive.tlsPort),
      file,
    ]);
    expect(r.code, r.out).toBe(0);
    expect(await archive.app.index.findInstance(inst.sopUid)).toBeDefined();
  });
});
