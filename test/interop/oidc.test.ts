import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';

/** An OpenID provider of the test's own: a discovery document and a key set, over HTTP. */
let provider: Server;
let issuer: string;
let archive: TestArchive;
let http: FastifyInstance;
let base: string;
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let other: Awaited<ReturnType<typeof generateKeyPair>>;
let jwk: JWK;

beforeAll(async () => {
  keys = await generateKeyPair('RS256');
  other = await generateKeyPair('RS256');
  jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  provider = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(provider.address() as { port: number }).port}`;
  archive = await startTestArchive({
    settings: {
      'security.authentication': true,
      'security.oidc.issuer': issuer,
      'security.oidc.audience': 'lantern',
    },
  });
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
  provider?.close();
});

function jwt(
  claims: Record<string, unknown>,
  o: { key?: typeof keys.privateKey; iss?: string; aud?: string; exp?: string | number } = {},
) {
  return new SignJWT({ preferred_username: 'dr.who', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('u-123')
    .setIssuer(o.iss ?? issuer)
    .setAudience(o.aud ?? 'lantern')
    .setIssuedAt()
    .setExpirationTime(o.exp ?? '5m')
    .sign(o.key ?? keys.privateKey);
}

const qido = (token: string) =>
  fetch(`${base}/dicom-web/studies`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);

describe('OpenID Connect bearer tokens', () => {
  it("accepts the provider's signed tokens, mapping their roles claim to Lantern roles", async () => {
    expect(await qido(await jwt({ roles: ['radiologist'] }))).toBe(200);
    // Unknown role names grant nothing; a researcher may not read identified data.
    expect(await qido(await jwt({ roles: ['researcher', 'superuser'] }))).toBe(403);
    expect(await qido(await jwt({ roles: 'clinician auditor' }))).toBe(200);
    // Such a user has no Lantern account of its own to hold tokens or sessions.
    const me = await fetch(`${base}/api/tokens`, {
      headers: { Authorization: `Bearer ${await jwt({ roles: ['clinician'] })}` },
    });
    expect(me.status).toBe(403);
  });

  it('refuses expired, foreign, forged and unsigned tokens', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    expect(await qido(await jwt({ roles: ['radiologist'] }, { exp: past }))).toBe(401);
    expect(await qido(await jwt({ roles: ['radiologist'] }, { aud: 'another-app' }))).toBe(401);
    expect(await qido(await jwt({ roles: ['radiologist'] }, { iss: 'https://evil.example.org' }))).toBe(401);
    expect(await qido(await jwt({ roles: ['radiologist'] }, { key: other.privateKey }))).toBe(401);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = {
      iss: issuer,
      aud: 'lantern',
      sub: 'u-1',
      preferred_username: 'x',
      roles: ['administrator'],
      exp: Math.floor(Date.now() / 1000) + 300,
    };
    expect(await qido(`${b64({ alg: 'none', kid: 'k1' })}.${b64(payload)}.`)).toBe(401);
    // HS256 "signed" with the public key (algorithm confusion).
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    const hs = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(secret);
    expect(await qido(hs)).toBe(401);
    expect(await qido('not.a.jwt')).toBe(401);
  });
});
