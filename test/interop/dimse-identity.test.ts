import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerActor } from '../../src/servers/dimse/actor.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { runDcmtk } from '../helpers/dcmtk.js';
import { synthInstance } from '../helpers/synth.js';

/** DICOM user identity negotiation (PS3.7 D.3.3.7) against the accounts, with DCMTK's storescu and findscu. */
let archive: TestArchive;
const dir = mkdtempSync(join(tmpdir(), 'lantern-identity-'));
const PASS = 'modality-passphrase-2026';

beforeAll(async () => {
  archive = await startTestArchive({ settings: { 'dicom.requireUserIdentity': true } });
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'IDSCU',
    host: '',
    port: 0,
    permissions: ['store', 'find'],
  });
  await archive.app.auth.createAccount({ login: 'ct-room-1', roles: ['radiographer'] }, PASS);
  await archive.app.auth.createAccount({ login: 'ward-view', roles: ['clinician'] }, PASS);
});
afterAll(async () => {
  await archive?.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(patientId: string) {
  const inst = synthInstance({ patientId, rows: 8, columns: 8 });
  const f = join(dir, `${inst.sopUid}.dcm`);
  writeFileSync(f, inst.bytes);
  return { f, sop: inst.sopUid };
}

const store = (identity: string[], f: string) =>
  runDcmtk('storescu', [
    '-aet',
    'IDSCU',
    '-aec',
    'LANTERN',
    ...identity,
    '127.0.0.1',
    String(archive.port),
    f,
  ]);

describe('DICOM user identity', () => {
  it('accepts an account username and passcode and stores as that user', async () => {
    const { f, sop } = file('ID1');
    const r = await store(['-usr', 'ct-room-1', '-pwd', PASS], f);
    expect(r.code, r.out).toBe(0);
    expect(await archive.app.index.findInstance(sop)).toBeDefined();
  });

  it('rejects the association without an identity, with a wrong passcode, or with a bare username', async () => {
    for (const identity of [
      [],
      ['-usr', 'ct-room-1', '-pwd', 'wrong-passcode-here'],
      ['-usr', 'ct-room-1'],
      ['-usr', 'nobody', '-pwd', PASS],
    ]) {
      const { f, sop } = file('ID2');
      const r = await store(identity, f);
      expect(r.code, identity.join(' ')).not.toBe(0);
      expect(r.out, identity.join(' ')).toMatch(/Association Rejected/i);
      expect(await archive.app.index.findInstance(sop)).toBeUndefined();
    }
  });

  it("narrows the AE's grants to the user's role: a clinician's association may not store", async () => {
    const { f, sop } = file('ID3');
    const r = await store(['-v', '-usr', 'ward-view', '-pwd', PASS], f);
    // 0124H, Refused: Not Authorized (PS3.7 C.5.x; DCMTK prints it as unknown for C-STORE).
    expect(r.out).toMatch(/Store Response \(.*Status: 0x124\)/);
    expect(await archive.app.index.findInstance(sop)).toBeUndefined();
    // Of DCMTK's tools only storescu sends a user identity: the narrowing itself, for a query.
    const user = await archive.app.auth.verifyPeerUser('ward-view', PASS, '127.0.0.1');
    const actor = peerActor({ callingAeTitle: 'IDSCU', calledAeTitle: 'LANTERN', remoteAddress: '', user }, [
      'study.read',
      'study.store',
    ]);
    expect(actor.kind === 'ae' && [...actor.permissions]).toEqual(['study.read']);
    expect(actor.kind === 'ae' && actor.aeTitle).toBe('ward-view@IDSCU');
  });
});

describe('AEs used by people and by devices', () => {
  let site: TestArchive;
  beforeAll(async () => {
    // No site-wide requirement: each AE says who is behind it.
    site = await startTestArchive();
    // A workstation that queries and stores results: people, by default.
    await site.app.aes.add({ aeTitle: 'READING1', host: '', port: 0, permissions: ['store', 'find'] });
    await site.app.aes.add({
      aeTitle: 'ROUTER1',
      host: '127.0.0.1',
      port: 0,
      permissions: ['find'],
      mode: 'device',
    });
    await site.app.auth.createAccount({ login: 'rad-ws', roles: ['radiologist'] }, PASS);
    await site.app.auth.createAccount({ login: 'aud-ws', roles: ['auditor'] }, PASS);
    await site.app.ingest.ingest({
      chunks: [synthInstance({ patientId: 'PEOPLE1', rows: 8, columns: 8 }).bytes],
    });
  });
  afterAll(async () => {
    await site?.close();
  });
  const find = (aet: string, identity: string[] = []) =>
    runDcmtk('findscu', [
      '-S',
      '-aet',
      aet,
      '-aec',
      'LANTERN',
      ...identity,
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      'PatientID=PEOPLE1',
      '-k',
      'PatientName',
      '127.0.0.1',
      String(site.port),
    ]);

  it('refuses C-FIND without a user identity for an AE of people, and acts for the person signed in', async () => {
    expect((await site.app.aes.find('READING1'))?.mode).toBe('people');
    const anonymous = await find('READING1', ['-v']);
    // No match comes back: the final response refuses (findscu -v prints the request keys, not answers).
    expect(anonymous.out).not.toMatch(/\(Pending\)/);
    expect(anonymous.out).toMatch(/Received Final Find Response \((?!Success)/);
    // storescu carries a user identity (findscu of this DCMTK cannot): the person's role applies.
    const store = (identity: string[]) => {
      const inst = synthInstance({ patientId: 'PEOPLE2', rows: 8, columns: 8 });
      const f = join(dir, `${inst.sopUid}.dcm`);
      writeFileSync(f, inst.bytes);
      return runDcmtk('storescu', [
        '-aet',
        'READING1',
        '-aec',
        'LANTERN',
        ...identity,
        '127.0.0.1',
        String(site.port),
        f,
      ]).then((r) => ({ ...r, sop: inst.sopUid }));
    };
    // Its stores need no identity (a modality registered with the default grants keeps storing).
    const none = await store([]);
    expect(none.code, none.out).toBe(0);
    expect(await site.app.index.findInstance(none.sop)).toBeDefined();
    const rad = await store(['-usr', 'rad-ws', '-pwd', PASS]);
    expect(rad.code, rad.out).toBe(0);
    expect(await site.app.index.findInstance(rad.sop)).toBeDefined();
    const auditor = await store(['-usr', 'aud-ws', '-pwd', PASS]);
    expect(await site.app.index.findInstance(auditor.sop)).toBeUndefined();
  });

  it('lets a device query with its grants, and the registry listing warns of what stays open', async () => {
    const r = await find('ROUTER1');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/PEOPLE1/);
    const { stdout } = await promisify(execFile)(
      'node',
      [resolve(import.meta.dirname, '../../bin/lantern.js'), 'ae', 'list', '--data', site.dir],
      { env: { ...process.env, ...site.env } },
    );
    expect(stdout).toMatch(/READING1 .* mode people\n\s+warning: no --host and no certificate/);
    expect(stdout).toMatch(/ROUTER1 .* mode device\n\s+warning: a device that may query or retrieve/);
  });
});
