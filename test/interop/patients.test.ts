import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/servers/http/server.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { synthInstance } from '../helpers/synth.js';

/** Patients over HTTP (docs/patients.md): what an operation's dialog asks for to identify the patient. */
let archive: TestArchive;
let http: FastifyInstance;
let base: string;

beforeAll(async () => {
  archive = await startTestArchive();
  const inst = synthInstance({
    patientId: 'PAT-HTTP-1',
    otherPatientIds: [{ id: 'A123456(3)', issuer: 'HKID' }],
    phone: '91234567',
  });
  expect((await archive.app.ingest.ingest({ chunks: [inst.bytes] })).status).toBe('stored');
  http = await buildHttpServer(archive.app);
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await http?.close();
  await archive?.close();
});

describe('patients over HTTP', () => {
  it('names the kinds of identifier the archive holds for a patient, never their values', async () => {
    const r = await fetch(`${base}/api/patients/PAT-HTTP-1/identifiers`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(JSON.parse(text)).toEqual({ kinds: ['name', 'hkid', 'birthDate', 'phone'] });
    expect(text).not.toMatch(/A123456|91234567/);
    const none = await fetch(`${base}/api/patients/NOBODY/identifiers`);
    expect(none.status).toBe(404);
  });
});
