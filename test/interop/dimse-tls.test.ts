import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { DCMTK_ENV } from '../helpers/dcmtk.js';

/** DICOM TLS (PS3.15 B.9) against DCMTK's echoscu with certificates made by openssl for the test. */
const dir = mkdtempSync(join(tmpdir(), 'lantern-tls-'));
const f = (n: string) => join(dir, n);
const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
let archive: TestArchive;

function makeCa(name: string): void {
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.pem`),
  ]);
}
function makeCert(name: string, ca: string): void {
  ssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.csr`),
  ]);
  ssl([
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f(`${ca}.pem`),
    '-CAkey',
    f(`${ca}.key`),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    f(`${name}.pem`),
  ]);
}

const echo = (args: string[], aet = 'TLSSCU'): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const c = spawn('echoscu', ['-aet', aet, '-aec', 'LANTERN', ...args], { env: DCMTK_ENV });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code, out }));
  });

beforeAll(async () => {
  makeCa('ca');
  makeCa('otherca');
  makeCert('server', 'ca');
  makeCert('client', 'ca');
  makeCert('client2', 'ca');
  makeCert('stranger', 'otherca');
  archive = await startTestArchive({
    tls: {
      port: 0,
      cert: readFileSync(f('server.pem')),
      key: readFileSync(f('server.key')),
      ca: readFileSync(f('ca.pem')),
      requireClientCert: true,
    },
  });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'TLSSCU',
    host: '127.0.0.1',
    port: 0,
    permissions: ['store'],
  });
});
afterAll(async () => {
  await archive?.close();
  await tlsOnly?.close();
  rmSync(dir, { recursive: true, force: true });
});
let tlsOnly: TestArchive | undefined;

describe('DICOM TLS', () => {
  it('a client with a certificate from the trusted CA associates over TLS', async () => {
    const r = await echo([
      '+tls',
      f('client.key'),
      f('client.pem'),
      '+cf',
      f('ca.pem'),
      '127.0.0.1',
      String(archive.tlsPort),
    ]);
    expect(r.code, r.out).toBe(0);
  });

  it('a client certificate from another CA is refused during the handshake', async () => {
    const r = await echo([
      '+tls',
      f('stranger.key'),
      f('stranger.pem'),
      '+cf',
      f('ca.pem'),
      '127.0.0.1',
      String(archive.tlsPort),
    ]);
    expect(r.code).not.toBe(0);
  });

  it('clear text on the TLS port never works: no fallback', async () => {
    const r = await echo(['127.0.0.1', String(archive.tlsPort)]);
    expect(r.code).not.toBe(0);
  });

  it('connections that never finish their handshake count as not yet associated: the oldest go, a client gets in', async () => {
    const silent = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<Socket>((ok) => {
            const sock = connect(archive.tlsPort!, '127.0.0.1', () => ok(sock));
            sock.on('error', () => undefined);
          }),
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      // At most the per-address budget (8) of them is left open: the older ones were closed to make room.
      expect(silent.filter((sock) => !sock.destroyed && !sock.readableEnded).length).toBeLessThanOrEqual(8);
      const open = await new Promise<number>((ok, fail) =>
        archive.server.servers[1].getConnections((e, n) => (e ? fail(e) : ok(n))),
      );
      expect(open).toBeLessThanOrEqual(8);
      const r = await echo([
        '+tls',
        f('client.key'),
        f('client.pem'),
        '+cf',
        f('ca.pem'),
        '127.0.0.1',
        String(archive.tlsPort),
      ]);
      expect(r.code, r.out).toBe(0);
    } finally {
      silent.forEach((sock) => sock.destroy());
    }
  });

  it('the plain port still serves clear text', async () => {
    expect((await echo(['127.0.0.1', String(archive.port)])).code).toBe(0);
  });

  it('a certificate bound to an AE title is required of it, and refused for any other title', async () => {
    const sha = (name: string) =>
      /Fingerprint=([0-9A-F:]+)/.exec(
        execFileSync('openssl', [
          'x509',
          '-noout',
          '-fingerprint',
          '-sha256',
          '-in',
          f(`${name}.pem`),
        ]).toString(),
      )![1];
    await archive.app.aes.add({
      mode: 'device',
      aeTitle: 'BOUNDSCU',
      host: '',
      port: 0,
      permissions: ['store'],
      certSha256: sha('client'),
    });
    await archive.app.aes.add({
      mode: 'device',
      aeTitle: 'OTHERSCU',
      host: '',
      port: 0,
      permissions: ['store'],
      certSha256: sha('client2'),
    });
    const as = (aet: string, cert: string) =>
      echo(
        [
          '+tls',
          f(`${cert}.key`),
          f(`${cert}.pem`),
          '+cf',
          f('ca.pem'),
          '127.0.0.1',
          String(archive.tlsPort),
        ],
        aet,
      );
    expect((await as('BOUNDSCU', 'client')).code).toBe(0);
    // The other AE's certificate, though from the trusted CA.
    const wrong = await as('BOUNDSCU', 'client2');
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/Association Rejected/i);
    // A title whose certificate is bound elsewhere cannot be used with that certificate either.
    expect((await as('TLSSCU', 'client2')).code).not.toBe(0);
    // Without TLS, no certificate: refused.
    const plain = (await echo(['127.0.0.1', String(archive.port)], 'BOUNDSCU')).code;
    expect(plain).not.toBe(0);
  });
});

describe('TLS only (dicom.plainPort false)', () => {
  it('listens on the TLS port alone', async () => {
    tlsOnly = await startTestArchive({
      settings: { 'dicom.plainPort': false },
      tls: {
        port: 0,
        cert: readFileSync(f('server.pem')),
        key: readFileSync(f('server.key')),
        ca: readFileSync(f('ca.pem')),
        requireClientCert: true,
      },
    });
    await tlsOnly.app.aes.add({
      mode: 'device',
      aeTitle: 'TLSSCU',
      host: '',
      port: 0,
      permissions: ['store'],
    });
    expect(tlsOnly.server.servers).toHaveLength(1);
    expect(tlsOnly.server.address(0)).toBeUndefined();
    const r = await echo([
      '+tls',
      f('client.key'),
      f('client.pem'),
      '+cf',
      f('ca.pem'),
      '127.0.0.1',
      String(tlsOnly!.tlsPort),
    ]);
    expect(r.code, r.out).toBe(0);
  });
});
