import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  await archive.app.aes.add({ aeTitle: 'IDSCU', host: '', port: 0, permissions: ['store', 'find'] });
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
