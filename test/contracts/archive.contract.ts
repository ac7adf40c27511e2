import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/adapters/blob-fs/index.js';
import { Tag, tagHex } from '../../src/core/dicom/dictionary.js';
import type { JsonDataset } from '../../src/core/dicom/json.js';
import { LanternError } from '../../src/core/errors.js';
import type { QueryKey } from '../../src/core/query/keys.js';
import type { ArchiveIndex } from '../../src/ports/archive-index.js';
import type { IndexDatabase } from '../../src/ports/index-database.js';
import { systemClock } from '../../src/ports/clock.js';
import { type AuditEvent, EVENT } from '../../src/core/audit/events.js';
import { AuditService } from '../../src/services/audit.js';
import { ClinicalAudit } from '../../src/services/clinical-audit.js';
import { type IngestDeps, IngestService } from '../../src/services/ingest.js';
import { SecurityAlerts } from '../../src/services/security-alerts.js';
import { PatientIdentification } from '../../src/services/patient-identification.js';
import { QueryService } from '../../src/services/query.js';
import { VerifyService } from '../../src/services/verify.js';
import { synthInstance, uid } from '../helpers/synth.js';
import { leftoverTemp } from '../helpers/storage.js';

/** The file with its Accession Number value shortened by one byte (and the dataset still well formed). */
function oddLength(file: Buffer): Buffer {
  const at = file.indexOf(Buffer.from([0x08, 0x00, 0x50, 0x00, 0x53, 0x48]));
  const len = file.readUInt16LE(at + 6);
  const out = Buffer.concat([file.subarray(0, at + 8 + len - 1), file.subarray(at + 8 + len)]);
  out.writeUInt16LE(len - 1, at + 6);
  return out;
}

export interface Backend {
  open(): Promise<IndexDatabase>;
  cleanup(): Promise<void>;
  /** Runs SQL directly on the database, beside the adapter (as someone with database access could). */
  raw(sql: string): Promise<void>;
}

const k = (tag: number, vr: QueryKey['vr'], value = ''): QueryKey => ({ tag, vr, value });
const value = (ds: JsonDataset, tag: number) => ds[tagHex(tag)]?.Value?.[0];
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
async function* chunks(b: Uint8Array, size = 4096): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** One suite, every index adapter: the same behaviour on SQLite and PostgreSQL. */
export function archiveContract(name: string, backend: Backend): void {
  describe(`archive contract: ${name}`, () => {
    let db: IndexDatabase;
    let index: ArchiveIndex;
    let blobs: FsBlobStore;
    let dir: string;
    let ingest: IngestService;
    let query: QueryService;
    const studyA = uid();
    const seriesA1 = uid();
    const seriesA2 = uid();
    const studyB = uid();

    beforeAll(async () => {
      db = await backend.open();
      await db.migrate();
      await db.migrate(); // migrations are versioned: a second run changes nothing
      index = db.archive;
      dir = mkdtempSync(join(tmpdir(), 'lantern-blobs-'));
      blobs = new FsBlobStore(dir, { nodeId: 'contract' });
      await blobs.init();
      ingest = new IngestService({
        index,
        blobs,
        clock: systemClock,
        implementationClassUid: '1.2.826.0.1.3680043.10.1137.1',
        implementationVersionName: 'LANTERN_TEST',
        nodeId: 'contract',
      });
      query = new QueryService(index, { maxResults: 1000, pageSize: 3 });
      const put = async (o: Parameters<typeof synthInstance>[0]) => {
        const r = await ingest.ingest({ chunks: chunks(synthInstance(o).bytes) });
        expect(r.status).toBe('stored');
      };
      for (let i = 1; i <= 3; i++) {
        await put({
          patientId: 'P1',
          patientName: 'Yamada^Tarou=山田^太郎',
          studyUid: studyA,
          seriesUid: seriesA1,
          modality: 'CT',
          instanceNumber: i,
          studyDate: '20260110',
        });
      }
      await put({
        patientId: 'P1',
        patientName: 'Yamada^Tarou=山田^太郎',
        studyUid: studyA,
        seriesUid: seriesA2,
        modality: 'SR',
        studyDate: '20260110',
      });
      await put({
        patientId: 'P2',
        patientName: 'Smith^John',
        birthDate: '19700505',
        studyUid: studyB,
        modality: 'MR',
        studyDate: '20260301',
        accession: 'ACC-B',
        otherPatientIds: ['ALT-77'],
      });
    });

    afterAll(async () => {
      await blobs?.close();
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
      await backend.cleanup();
    });

    it('records patients, studies, series and instances with their counts', async () => {
      expect(await index.counts()).toEqual({
        patients: 2,
        studies: 2,
        series: 3,
        instances: 5,
        quarantined: 0,
      });
      const study = await index.findStudy(studyA);
      expect(study?.patientId).toBe('P1');
      // The bytes kept: every stored instance's size, nothing quarantined yet.
      const rows = await index.listInstances(0, 100);
      expect(await index.sizes()).toEqual({ stored: rows.reduce((n, r) => n + r.size, 0), quarantined: 0 });
    });

    it('stores an identical object once: same SOP Instance UID and digest is a success without a copy', async () => {
      const inst = synthInstance({ patientId: 'P3', patientName: 'Once^Only' });
      expect((await ingest.ingest({ chunks: chunks(inst.bytes) })).status).toBe('stored');
      expect((await ingest.ingest({ chunks: chunks(inst.bytes, 777) })).status).toBe('duplicate');
      const row = await index.findInstance(inst.sopUid);
      expect(row?.sha256).toBe(createHash('sha256').update(inst.bytes).digest('hex'));
      expect(await blobs.size(row!.blobKey)).toBe(inst.bytes.length);
    });

    it('quarantines a different object under a stored SOP Instance UID, leaving the original untouched', async () => {
      const inst = synthInstance({ patientId: 'P4', patientName: 'Orig^Inal' });
      await ingest.ingest({ chunks: chunks(inst.bytes) });
      const before = await index.findInstance(inst.sopUid);
      const changed = synthInstance({
        patientId: 'P4',
        patientName: 'Orig^Inal',
        sopUid: inst.sopUid,
        studyUid: inst.studyUid,
        seriesUid: inst.seriesUid,
        instanceNumber: 99,
      });
      const r = await ingest.ingest({ chunks: chunks(changed.bytes) });
      expect(r.status).toBe('quarantined');
      expect(r.status === 'quarantined' && r.reason).toMatch(/different content/);
      expect(await index.findInstance(inst.sopUid)).toEqual(before);
    });

    it('quarantines a study that arrives under another Patient ID, and a name or birth date that disagrees', async () => {
      const wrongPatient = synthInstance({ patientId: 'OTHER', studyUid: studyA });
      const r1 = await ingest.ingest({ chunks: chunks(wrongPatient.bytes) });
      expect(r1.status === 'quarantined' && r1.reason).toMatch(/different Patient ID/);
      const wrongName = synthInstance({ patientId: 'P2', patientName: 'Smyth^John', birthDate: '19700505' });
      const r2 = await ingest.ingest({ chunks: chunks(wrongName.bytes) });
      expect(r2.status === 'quarantined' && r2.reason).toMatch(/Patient's Name differs/);
      const wrongBirth = synthInstance({ patientId: 'P2', patientName: 'Smith^John', birthDate: '19700506' });
      const r3 = await ingest.ingest({ chunks: chunks(wrongBirth.bytes) });
      expect(r3.status === 'quarantined' && r3.reason).toMatch(/Birth Date differs/);
      const q = await index.listQuarantine(0, 100);
      expect(q.length).toBeGreaterThanOrEqual(3);
      for (const row of q) expect(await blobs.size(row.blobKey)).toBe(row.size);
      expect(await index.findInstance(wrongPatient.sopUid)).toBeUndefined();
    });

    it('rejects bad input precisely and leaves store and index unchanged', async () => {
      const before = await index.counts();
      const good = synthInstance({ patientId: 'P9' }).bytes;
      const cases: [Uint8Array, string][] = [
        [good.subarray(0, good.length - 100), 'LNT_DICOM_TRUNCATED'],
        [Buffer.from('not dicom at all, just text'), 'LNT_DICOM_NOT_DICOM'],
        [synthInstance({ sopUid: '1.2.3.abc' }).bytes, 'LNT_DICOM_INVALID_UID'],
        [oddLength(good), 'LNT_DICOM_ODD_LENGTH'],
        [synthInstance({ sopUid: '' }).bytes, 'LNT_DICOM_MISSING_ATTRIBUTE'],
      ];
      for (const [bytes, code] of cases) {
        const err = await ingest.ingest({ chunks: chunks(bytes) }).catch((e) => e);
        expect(err).toBeInstanceOf(LanternError);
        expect((err as LanternError).code).toBe(code);
      }
      expect(await index.counts()).toEqual(before);
      // Nothing partial is left in storage either.
      expect(leftoverTemp(dir)).toEqual([]);
    });

    it('stores a bare dataset with a proper meta header, and zeroes a hostile preamble', async () => {
      const inst = synthInstance({ patientId: 'P5', patientName: 'Bare^Data' });
      const metaLen = inst.bytes.readUInt32LE(132 + 8);
      const bare = inst.bytes.subarray(132 + 12 + metaLen);
      const r = await ingest.ingest({ chunks: chunks(bare), transferSyntaxUid: '1.2.840.10008.1.2.1' });
      expect(r.status).toBe('stored');
      const row = await index.findInstance(inst.sopUid);
      const stored = Buffer.concat(await all(blobs.read(row!.blobKey)));
      expect(stored.subarray(128, 132).toString()).toBe('DICM');
      expect(stored.subarray(stored.length - bare.length).equals(bare)).toBe(true);

      const poly = synthInstance({ patientId: 'P6', patientName: 'Poly^Glot' });
      poly.bytes.write('MZ\x90\x00 this program cannot be run in DOS mode', 0, 'latin1');
      const r2 = await ingest.ingest({ chunks: chunks(poly.bytes) });
      expect(r2.warnings.join()).toMatch(/preamble/);
      const row2 = await index.findInstance(poly.sopUid);
      const stored2 = Buffer.concat(await all(blobs.read(row2!.blobKey)));
      expect(stored2.subarray(0, 128).every((b) => b === 0)).toBe(true);
      expect(stored2.subarray(128).equals(poly.bytes.subarray(128))).toBe(true);
      expect(row2!.sha256).toBe(createHash('sha256').update(stored2).digest('hex'));
    });

    it('a failing unit of work leaves nothing behind', async () => {
      const before = await index.counts();
      const inst = synthInstance({ patientId: 'PX' });
      await expect(
        index.write(async (tx) => {
          await tx.insertInstance(
            {
              patient: { patientId: 'PX', issuer: '', name: 'X', birthDate: '', sex: '', attrs: {} },
              study: {
                studyUid: inst.studyUid,
                date: '',
                time: '',
                accessionNumber: '',
                studyId: '',
                description: '',
                referringPhysician: '',
                attrs: {},
              },
              series: { seriesUid: inst.seriesUid, modality: 'CT', number: 1, description: '', attrs: {} },
              instance: {
                sopInstanceUid: inst.sopUid,
                sopClassUid: '1.2',
                number: 1,
                transferSyntaxUid: '1.2.840.10008.1.2.1',
                blobKey: 'objects/x',
                size: 1,
                sha256: 'x',
                attrsJson: '{}',
                receivedAt: new Date().toISOString(),
                sourceAet: '',
              },
            },
            {},
          );
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await index.counts()).toEqual(before);
    });

    /** The ingest service of one process of a node (its id, and whether other processes still run). */
    const ingestOf = (
      nodeId: string,
      pid: number,
      alive?: (pid: number) => boolean,
      more: Partial<IngestDeps> = {},
    ) =>
      new IngestService({
        index,
        blobs,
        clock: systemClock,
        implementationClassUid: '1.2.826.0.1.3680043.10.1137.1',
        implementationVersionName: 'LANTERN_TEST',
        nodeId,
        pid,
        alive,
        ...more,
      });

    it('start-up recovery: rows whose files a power loss took are removed with their counts, whole ones stay', async () => {
      const service = (pid: number, alive?: (pid: number) => boolean) => ingestOf('power-loss', pid, alive);
      const crashed = service(424242);
      const before = await index.counts();
      const studyUid = uid();
      const [s1, s2] = [uid(), uid()];
      const put = async (o: Parameters<typeof synthInstance>[0]) => {
        const inst = synthInstance({ patientId: 'PL', patientName: 'Power^Loss', studyUid, ...o });
        return { inst, out: await crashed.ingest({ chunks: chunks(inst.bytes) }) };
      };
      const kept = await put({ seriesUid: s1 });
      const truncated = await put({ seriesUid: s1 });
      const lost = await put({ seriesUid: s2 });
      const held = await put({ seriesUid: s2, patientId: 'PL2' });
      expect([kept, truncated, lost].map((x) => x.out.status)).toEqual(['stored', 'stored', 'stored']);
      expect(held.out.status).toBe('quarantined');
      // The process dies before it confirmed anything: its session still names the ids it started at.
      const [session] = await index.ingestSessions('power-loss');
      await crashed.close(0);
      await index.write((tx) =>
        tx.confirmIngestSession(
          session,
          session.confirmedInstanceId,
          session.confirmedQuarantineId,
          session.updatedAt,
        ),
      );
      const { truncateSync, unlinkSync } = await import('node:fs');
      const row = async (sop: string) => (await index.findInstance(sop))!;
      truncateSync(blobs.path((await row(truncated.inst.sopUid)).blobKey), 1000);
      unlinkSync(blobs.path((await row(lost.inst.sopUid)).blobKey));
      const q = (await index.listQuarantine(0, 1000)).find((r) => r.sopInstanceUid === held.inst.sopUid)!;
      truncateSync(blobs.path(q.blobKey), 10);

      // A process still running keeps its session; one that is gone has its session ended.
      const report = await service(1, (pid) => pid !== 424242).recover();
      expect(report.checked).toBe(4);
      expect(report.removed.map((r) => r.kind).sort()).toEqual(['instance', 'instance', 'quarantine']);
      expect(await index.findInstance(kept.inst.sopUid)).toBeDefined();
      expect(await index.findInstance(truncated.inst.sopUid)).toBeUndefined();
      expect(await index.findInstance(lost.inst.sopUid)).toBeUndefined();
      expect(await index.findSeries(s2)).toBeUndefined(); // its only instance went
      expect(await index.findSeries(s1)).toBeDefined();
      const after = await index.counts();
      expect(after).toEqual({
        patients: before.patients + 1,
        studies: before.studies + 1,
        series: before.series + 1,
        instances: before.instances + 1,
        quarantined: before.quarantined,
      });
      expect(await blobs.size((await row(kept.inst.sopUid)).blobKey)).toBeGreaterThan(0);
      expect(await index.ingestSessions('power-loss')).toEqual([]);
      expect((await service(1).recover()).checked).toBe(0);
    });

    /** The audit trail of the suite's database, as a process records into it. */
    const trail = () => {
      const audit = new AuditService(db.audit, systemClock, {
        sourceId: 'LANTERN',
        site: 'contract',
        failOpen: false,
      });
      const clinical = new ClinicalAudit(audit, index, {
        alerts: new SecurityAlerts(audit, systemClock, { windowMs: 60_000 }),
      });
      /** The received records (110104, C) from `userId`, oldest first. */
      const receivedBy = async (userId: string) =>
        (await audit.list({ eventId: '110104' }, 100, 0))
          .map((r) => r.event)
          .filter((e) => e.action === 'C' && e.participants.some((p) => p.userId === userId))
          .reverse();
      return { audit, clinical, receivedBy };
    };
    const namedIn = (events: readonly AuditEvent[]) =>
      events.flatMap((e) =>
        e.objects!.flatMap((o) => (o.sopClasses ?? []).flatMap((c) => c.instanceUids ?? [])),
      );

    it('a transfer cut by a crash: the next start records every object it acknowledged, once', async () => {
      const { clinical, receivedBy } = trail();
      const service = (pid: number, alive?: (pid: number) => boolean) =>
        ingestOf('transfer-crash', pid, alive, { audit: clinical, transferPart: 3 });
      const crashed = service(525252);
      const aeTitle = `XFER${Date.now() % 100000}`;
      const cut = crashed.beginTransfer({ kind: 'peer', aeTitle, address: '192.0.2.7' });
      const done = crashed.beginTransfer({ kind: 'peer', aeTitle: `${aeTitle}D`, address: '192.0.2.8' });
      const studyUid = uid();
      const send = async (o: Parameters<typeof synthInstance>[0], transfer = cut) => {
        const inst = synthInstance({ patientId: 'XF1', patientName: 'Transfer^Cut', studyUid, ...o });
        const out = await crashed.ingest({ chunks: chunks(inst.bytes), transfer });
        return { inst, out };
      };
      const a = await send({});
      const b = await send({});
      const again = await crashed.ingest({ chunks: chunks(a.inst.bytes), transfer: cut });
      const held = await send({ patientId: 'XF2' });
      const lost = await send({ patientId: 'XF3' });
      expect([a.out.status, b.out.status, again.status, held.out.status, lost.out.status]).toEqual([
        'stored',
        'stored',
        'duplicate',
        'quarantined',
        'quarantined',
      ]);
      // A transfer that ends is recorded (in parts of three) and leaves nothing for the recovery.
      for (let i = 0; i < 4; i++) await send({}, done);
      await crashed.endTransfer(done);
      // The cut one: its first three were recorded as a part as it went on; the others wait.
      const [session] = await index.ingestSessions('transfer-crash');
      expect((await index.receivedOf(session.id)).map((r) => r.status)).toEqual([
        'quarantined',
        'quarantined',
      ]);
      // The process dies (its session stays) after a power loss took one file: its rows are checked again
      // (the confirmed ids set back once the process's last confirmation is in), and that object goes.
      const maxQuarantine = Math.max(...(await index.listQuarantine(0, 10_000)).map((r) => r.id));
      await expect
        .poll(async () => (await index.ingestSessions('transfer-crash'))[0].confirmedQuarantineId)
        .toBe(maxQuarantine);
      await index.write((tx) => tx.confirmIngestSession(session, 0, 0, session.updatedAt));
      const { truncateSync } = await import('node:fs');
      const lostRow = (await index.listQuarantine(0, 10_000)).find(
        (r) => r.sopInstanceUid === lost.inst.sopUid,
      )!;
      truncateSync(blobs.path(lostRow.blobKey), 10);
      // Two processes start at once: one of them records the transfer.
      const alive = (pid: number) => pid !== 525252;
      const starting = [service(1, alive), service(2, alive)];
      await Promise.all(starting.map((x) => x.recover()));
      const [part, recovered, ...more] = await receivedBy(aeTitle);
      expect(more).toEqual([]);
      expect((await receivedBy(`${aeTitle}D`)).map((e) => e.outcomeDescription)).toEqual([
        'objects 1 to 3 of the transfer (it goes on)',
        'objects 4 to 4 of the transfer, the last',
      ]);
      expect(part.outcomeDescription).toBe('objects 1 to 3 of the transfer (it goes on)');
      expect(recovered.action).toBe('C');
      expect(recovered.outcomeDescription).toMatch(/quarantine.*stopped before the transfer ended/);
      // Every object acknowledged, the duplicate too; not the one whose file the crash took.
      expect(namedIn([part, recovered]).sort()).toEqual(
        [a.inst.sopUid, a.inst.sopUid, b.inst.sopUid, held.inst.sopUid].sort(),
      );
      const patients = (e: AuditEvent) => e.objects!.filter((o) => o.role === 1).map((o) => o.id);
      expect(patients(part)).toEqual(['XF1']);
      expect(patients(recovered)).toEqual(['XF2']);
      expect(await index.countReceived([])).toBe(0);
      for (const x of starting) await x.close();
      expect(await index.ingestSessions('transfer-crash')).toEqual([]);
      // Its study is marked: the transfer did not complete.
      expect((await index.studyTransfers([studyUid])).get(studyUid)?.transferProblem).toMatch(/stopped/);
    });

    it('a restarted process with the same pid (a container) records what the earlier one left', async () => {
      const { clinical, receivedBy } = trail();
      const at = new Date().toISOString();
      const earlier = await index.write((tx) =>
        tx.openIngestSession('container', 7, 'an earlier process', at),
      );
      const sop = uid();
      const ae = `CT${Date.now() % 100000}`;
      await index.write((tx) =>
        tx.addReceived(earlier.id, {
          transfer: 'cut-by-a-restart',
          party: JSON.stringify({ userId: ae, requestor: true }),
          studyUid: uid(),
          sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
          sopInstanceUid: sop,
          patientId: 'PX',
          status: 'stored',
          receivedAt: at,
        }),
      );
      // Every pid is alive here (ours is): only the session's process token tells it is an earlier one.
      const restarted = ingestOf('container', 7, () => true, { audit: clinical });
      await restarted.recover();
      expect(namedIn(await receivedBy(ae))).toEqual([sop]);
      await restarted.close();
      expect(await index.ingestSessions('container')).toEqual([]);
    });

    it('identifies a patient by two different identifiers that match, and records a refusal', async () => {
      const { audit, clinical } = trail();
      const ident = new PatientIdentification(index, clinical);
      const pid = `IDENT-${Date.now() % 100000}`;
      const inst = synthInstance({
        patientId: pid,
        patientName: 'CHAN^TAI MAN',
        birthDate: '19800229',
        otherPatientIds: [{ id: 'A123456(3)', issuer: 'HKID' }, 'NOT-TYPED'],
        address: 'Flat 3A, 12 Harbour Road',
        phone: '+852 2345 6789',
      });
      const stored = await ingest.ingest({ chunks: chunks(inst.bytes) });
      expect(stored.status).toBe('stored');
      expect(await ident.kinds({ patientId: pid })).toEqual([
        'name',
        'hkid',
        'birthDate',
        'phone',
        'address',
      ]);
      const by = { kind: 'os-user' as const, user: 'tester' };
      const operation = { name: 'edit', eventId: EVENT.patientRecord, action: 'U' as const };
      const ok = await ident.confirm(
        { patientId: pid },
        [
          { kind: 'hkid', value: 'a123456 (3)' },
          { kind: 'birthDate', value: '1980-02-29' },
        ],
        by,
        operation,
      );
      expect(ok.result.matched).toEqual(['hkid', 'birthDate']);
      const refusals = async () =>
        (await audit.list({ patientId: pid, eventId: '110110' }, 10, 0)).map(
          (r) => r.event.outcomeDescription,
        );
      await expect(
        ident.confirm({ patientId: pid }, [{ kind: 'name', value: 'Tai Man Chan' }], by, operation),
      ).rejects.toThrow(
        /edit refused: the patient is not identified: two different identifiers must match; 1 matched \(matched: name\)/,
      );
      await expect(
        ident.confirm(
          { patientId: pid },
          [
            { kind: 'name', value: 'Tai Man Chan' },
            { kind: 'hkid', value: 'A123456(4)' },
          ],
          by,
          operation,
        ),
      ).rejects.toMatchObject({ code: 'LNT_PATIENT_NOT_IDENTIFIED' });
      expect(await refusals()).toEqual([
        expect.stringMatching(/^edit refused: patient not identified: hkid: the HKID number's check digit/),
        'edit refused: patient not identified: two different identifiers must match; 1 matched',
      ]);
      // A patient first stored before the patient level kept telephone and address: its latest object says.
      await backend.raw(`update patient set attrs = '{}' where patient_id = '${pid}'`);
      expect(await ident.kinds({ patientId: pid })).toEqual([
        'name',
        'hkid',
        'birthDate',
        'phone',
        'address',
      ]);
      await expect(ident.kinds({ patientId: 'NO-SUCH' })).rejects.toMatchObject({ code: 'LNT_NOT_FOUND' });
    });

    it('an object not made durable is counted failed and leaves no row for its transfer', async () => {
      const { clinical } = trail();
      // The disk refuses the file's sync (a failing disk cannot be produced here: its store is wrapped).
      const failing = new Proxy(blobs, {
        get(target, prop) {
          if (prop === 'createTemp') {
            return async () => {
              const temp = await target.createTemp();
              return new Proxy(temp, {
                get(t, p) {
                  if (p === 'sync') return () => Promise.reject(new Error('EIO: the disk failed'));
                  const v: unknown = Reflect.get(t, p, t);
                  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
                },
              });
            };
          }
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const service = ingestOf('sync-fails', 8, undefined, { audit: clinical, blobs: failing });
      const t = service.beginTransfer({ kind: 'peer', aeTitle: 'SYNCFAIL', address: '192.0.2.9' });
      const inst = synthInstance({ patientId: 'SF1' });
      await expect(service.ingest({ chunks: chunks(inst.bytes), transfer: t })).rejects.toThrow();
      expect(t.failed).toBe(1);
      expect(t.acknowledged).toEqual([]);
      expect(await index.findInstance(inst.sopUid)).toBeUndefined();
      const [session] = await index.ingestSessions('sync-fails');
      expect(await index.receivedOf(session.id)).toEqual([]);
      await service.close();
    });

    it('a transfer that ends while an object is still being stored waits for it and names it', async () => {
      const { clinical, receivedBy } = trail();
      const service = ingestOf('in-flight', 9, undefined, { audit: clinical });
      const ae = `ABORT${Date.now() % 100000}`;
      const t = service.beginTransfer({ kind: 'peer', aeTitle: ae, address: '192.0.2.10' });
      const inst = synthInstance({ patientId: 'IF1' });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      async function* slow() {
        yield inst.bytes.subarray(0, 1000);
        await held;
        yield inst.bytes.subarray(1000);
      }
      const storing = service.ingest({ chunks: slow(), transfer: t });
      // The association ends (aborted, say) with the object's data all sent but not yet stored.
      const ending = service.endTransfer(t, 'the association ended before its release (aborted)');
      await new Promise((r) => setTimeout(r, 50));
      expect(await receivedBy(ae)).toEqual([]);
      release();
      expect((await storing).status).toBe('stored');
      await ending;
      const [record] = await receivedBy(ae);
      expect(namedIn([record])).toEqual([inst.sopUid]);
      expect(record.outcomeDescription).toMatch(/aborted/);
      await service.close();
    });

    describe('query service (PS3.4 C.2.2.2 matching)', () => {
      it('single value, universal and UID list matching at study level, with computed attributes', async () => {
        const r = await all(
          query.query({
            level: 'STUDY',
            keys: [
              k(Tag.PatientID, 'LO', 'P1'),
              k(Tag.StudyInstanceUID, 'UI'),
              k(Tag.ModalitiesInStudy, 'CS'),
              k(Tag.NumberOfStudyRelatedInstances, 'IS'),
              k(Tag.NumberOfStudyRelatedSeries, 'IS'),
            ],
          }),
        );
        expect(r).toHaveLength(1);
        expect(value(r[0], Tag.StudyInstanceUID)).toBe(studyA);
        expect(r[0][tagHex(Tag.ModalitiesInStudy)].Value).toEqual(['CT', 'SR']);
        expect(value(r[0], Tag.NumberOfStudyRelatedInstances)).toBe(4);
        expect(value(r[0], Tag.NumberOfStudyRelatedSeries)).toBe(2);
        const both = await all(
          query.query({ level: 'STUDY', keys: [k(Tag.StudyInstanceUID, 'UI', `${studyA}\\${studyB}`)] }),
        );
        expect(both).toHaveLength(2);
      });

      it('matches Modalities in Study by any of its values, as a list, and with wildcards', async () => {
        const studies = async (v: string) =>
          (
            await all(
              query.query({
                level: 'STUDY',
                keys: [k(Tag.StudyInstanceUID, 'UI'), k(Tag.ModalitiesInStudy, 'CS', v)],
              }),
            )
          ).map((r) => ({
            uid: value(r, Tag.StudyInstanceUID),
            modalities: r[tagHex(Tag.ModalitiesInStudy)]?.Value,
          }));
        const sr = await studies('SR');
        expect(sr.map((s) => s.uid)).toContain(studyA);
        // Every study returned holds an SR series, and returns all of its modalities.
        for (const s of sr) expect(s.modalities).toContain('SR');
        expect(sr.find((s) => s.uid === studyA)!.modalities).toEqual(['CT', 'SR']);
        expect(await studies('XX')).toEqual([]);
        expect((await studies('XX\\SR')).map((s) => s.uid).sort()).toEqual(sr.map((s) => s.uid).sort());
        expect((await studies('S?')).map((s) => s.uid)).toContain(studyA);
      });

      it('matches SOP Classes in Study through the instances, by any value of a list', async () => {
        const ct = '1.2.840.10008.5.1.4.1.1.2';
        const studies = async (v: string) =>
          (
            await all(
              query.query({
                level: 'STUDY',
                keys: [k(Tag.StudyInstanceUID, 'UI'), k(Tag.SOPClassesInStudy, 'UI', v)],
              }),
            )
          ).map((r) => ({
            uid: value(r, Tag.StudyInstanceUID),
            classes: r[tagHex(Tag.SOPClassesInStudy)]?.Value,
          }));
        const found = await studies(ct);
        expect(found.map((s) => s.uid)).toContain(studyA);
        for (const s of found) expect(s.classes).toContain(ct);
        expect(await studies('1.2.3.4.5')).toEqual([]);
        expect((await studies(`1.2.3.4.5\\${ct}`)).map((s) => s.uid).sort()).toEqual(
          found.map((s) => s.uid).sort(),
        );
      });

      it('sorts by indexed attributes, both ways, paging through the sorted matches (pages of 3 rows)', async () => {
        const more: string[] = [];
        for (const [i, date] of ['20250102', '20240607', '20260715', '20250102'].entries()) {
          const studyUid = uid();
          more.push(studyUid);
          const r = await ingest.ingest({
            chunks: chunks(
              synthInstance({
                patientId: `SORT${i}`,
                patientName: `Sort^${'DCBA'[i]}`,
                studyUid,
                studyDate: date,
                accession: 'SORTED',
              }).bytes,
            ),
          });
          expect(r.status).toBe('stored');
        }
        const sorted = async (descending: boolean, offset = 0, limit = 10, tag = Tag.StudyDate) =>
          (
            await all(
              query.query({
                level: 'STUDY',
                keys: [
                  k(Tag.AccessionNumber, 'SH', 'SORTED'),
                  k(Tag.StudyDate, 'DA'),
                  k(Tag.PatientName, 'PN'),
                ],
                orderBy: [{ tag, descending }],
                offset,
                limit,
              }),
            )
          ).map((r) => value(r, Tag.StudyDate));
        expect(await sorted(true)).toEqual(['20260715', '20250102', '20250102', '20240607']);
        expect(await sorted(false)).toEqual(['20240607', '20250102', '20250102', '20260715']);
        expect(await sorted(true, 1, 2)).toEqual(['20250102', '20250102']);
        expect(await sorted(true, 3, 2)).toEqual(['20240607']);
        const names = (
          await all(
            query.query({
              level: 'STUDY',
              keys: [k(Tag.AccessionNumber, 'SH', 'SORTED'), k(Tag.PatientName, 'PN')],
              orderBy: [{ tag: Tag.PatientName, descending: false }],
            }),
          )
        ).map((r) => (r[tagHex(Tag.PatientName)].Value![0] as { Alphabetic: string }).Alphabetic);
        expect(names).toEqual(['Sort^A', 'Sort^B', 'Sort^C', 'Sort^D']);
        // Equal dates keep one order on every call (by the order the archive recorded them).
        expect(await sorted(true)).toEqual(await sorted(true));
        await expect(
          all(
            query.query({
              level: 'STUDY',
              keys: [],
              orderBy: [{ tag: Tag.PatientWeight, descending: false }],
            }),
          ),
        ).rejects.toMatchObject({
          code: 'LNT_QUERY_INVALID',
          message: expect.stringMatching(/PatientWeight/),
        });
      });

      it('wildcards on characters, not bytes', async () => {
        const r = await all(
          query.query({
            level: 'PATIENT',
            keys: [k(Tag.PatientName, 'PN', '*=山?^太郎'), k(Tag.PatientID, 'LO')],
          }),
        );
        expect(r.map((x) => value(x, Tag.PatientID))).toEqual(['P1']);
        const none = await all(
          query.query({ level: 'PATIENT', keys: [k(Tag.PatientName, 'PN', '山??^太郎')] }),
        );
        expect(none).toHaveLength(0);
        const ideographic = await all(
          query.query({ level: 'PATIENT', keys: [k(Tag.PatientName, 'PN', '山田^太郎')] }),
        );
        expect(ideographic).toHaveLength(1);
      });

      it('fuzzy names: by component, without case or accents, by prefix or sound, through the name index', async () => {
        for (const [patientName, patientId] of [
          ['DOE^JOHN^A^DR^JR', 'FZ1'],
          ['García López^José María', 'FZ2'],
          ['Smith^Anne', 'FZ3'],
        ]) {
          const r = await ingest.ingest({ chunks: chunks(synthInstance({ patientId, patientName }).bytes) });
          expect(r.status).toBe('stored');
        }
        const ids = async (name: string, level: 'PATIENT' | 'STUDY' = 'PATIENT') =>
          (
            await all(
              query.query({
                level,
                keys: [k(Tag.PatientName, 'PN', name), k(Tag.PatientID, 'LO')],
                fuzzy: true,
              }),
            )
          )
            .map((d) => String(value(d, Tag.PatientID)))
            .filter((id) => id.startsWith('FZ'))
            .sort();
        expect(await ids('doe')).toEqual(['FZ1']);
        expect(await ids('doe^john')).toEqual(['FZ1']);
        expect(await ids('garcia')).toEqual(['FZ2']);
        expect(await ids('lopez^maria', 'STUDY')).toEqual(['FZ2']);
        expect(await ids('smyth', 'STUDY')).toEqual(['FZ3']);
        expect(await ids('SMITH^ANNE')).toEqual(['FZ3']);
        expect(await ids('gar*')).toEqual(['FZ2']);
        expect(await ids('john')).toEqual([]);
        // Without fuzzy matching, the same keys match exactly, as PS3.4 says.
        expect(await all(query.query({ level: 'PATIENT', keys: [k(Tag.PatientName, 'PN', 'doe')] }))).toEqual(
          [],
        );
      });

      it('an archive made before the name index gets its keys when it is upgraded', async () => {
        // Back to the schema before 0005: every later migration undone too (a new one is added here).
        await backend.raw('drop table change');
        await backend.raw('drop table change_item');
        await backend.raw('drop index instance_version_keep_idx');
        await backend.raw('drop table instance_version');
        await backend.raw('alter table patient drop column changing');
        await backend.raw('drop index instance_damaged_idx');
        await backend.raw('alter table instance drop column verified_at');
        await backend.raw('alter table instance drop column integrity');
        await backend.raw('drop table received_instance');
        await backend.raw('alter table ae drop column mode');
        await backend.raw('alter table ae drop column cert_sha256');
        await backend.raw('drop table account_mfa');
        await backend.raw('alter table account drop column kind');
        await backend.raw('alter table api_token drop column created_by');
        await backend.raw('drop index instance_sop_class_idx');
        await backend.raw('drop table ingest_session');
        await backend.raw('drop index series_modality_study_idx');
        await backend.raw('create index series_modality_idx on series (modality)');
        await backend.raw('drop index quarantine_study_idx');
        await backend.raw('alter table study drop column transfer_problem');
        await backend.raw('alter table study drop column transfer_problem_at');
        await backend.raw('drop index study_date_time_idx');
        await backend.raw('drop table job');
        await backend.raw('alter table login_throttle drop column in_progress');
        await backend.raw('drop table patient_name_key');
        await backend.raw("delete from kysely_migration where name >= '0005'");
        await db.migrate();
        const found = await all(
          query.query({ level: 'PATIENT', keys: [k(Tag.PatientName, 'PN', 'yamada^tarou')], fuzzy: true }),
        );
        expect(found).toHaveLength(1);
      });

      it('person names match case-insensitively only when fuzzy matching is asked for', async () => {
        expect(
          await all(query.query({ level: 'PATIENT', keys: [k(Tag.PatientName, 'PN', 'smith^john')] })),
        ).toHaveLength(0);
        expect(
          await all(
            query.query({ level: 'PATIENT', keys: [k(Tag.PatientName, 'PN', 'smith^j*')], fuzzy: true }),
          ),
        ).toHaveLength(1);
      });

      it('date ranges', async () => {
        const q = async (v: string) =>
          (
            await all(
              query.query({
                level: 'STUDY',
                keys: [k(Tag.StudyDate, 'DA', v), k(Tag.StudyInstanceUID, 'UI', `${studyA}\\${studyB}`)],
              }),
            )
          ).length;
        expect(await q('20260101-20260131')).toBe(1);
        expect(await q('20260201-')).toBe(1);
        expect(await q('-20260301')).toBe(2);
        expect(await q('20260110')).toBe(1);
        expect(await q('20250101-20251231')).toBe(0);
      });

      it('time ranges and series, instance levels', async () => {
        expect(
          await all(
            query.query({
              level: 'STUDY',
              keys: [k(Tag.StudyTime, 'TM', '0900-1000'), k(Tag.PatientID, 'LO', 'P1')],
            }),
          ),
        ).toHaveLength(1);
        expect(
          await all(
            query.query({
              level: 'STUDY',
              keys: [k(Tag.StudyTime, 'TM', '1000-'), k(Tag.PatientID, 'LO', 'P1')],
            }),
          ),
        ).toHaveLength(0);
        const series = await all(
          query.query({
            level: 'SERIES',
            keys: [
              k(Tag.StudyInstanceUID, 'UI', studyA),
              k(Tag.Modality, 'CS'),
              k(Tag.NumberOfSeriesRelatedInstances, 'IS'),
            ],
          }),
        );
        expect(
          series.map((s) => [value(s, Tag.Modality), value(s, Tag.NumberOfSeriesRelatedInstances)]).sort(),
        ).toEqual([
          ['CT', 3],
          ['SR', 1],
        ]);
        const images = await all(
          query.query({
            level: 'IMAGE',
            keys: [k(Tag.SeriesInstanceUID, 'UI', seriesA1), k(Tag.InstanceNumber, 'IS')],
          }),
        );
        expect(images.map((s) => value(s, Tag.InstanceNumber)).sort()).toEqual([1, 2, 3]);
        expect(
          await all(
            query.query({
              level: 'IMAGE',
              keys: [k(Tag.SeriesInstanceUID, 'UI', seriesA1), k(Tag.InstanceNumber, 'IS', '2')],
            }),
          ),
        ).toHaveLength(1);
      });

      it('sequence matching', async () => {
        const key: QueryKey = {
          tag: Tag.OtherPatientIDsSequence,
          vr: 'SQ',
          value: '',
          items: [k(Tag.PatientID, 'LO', 'ALT-77')],
        };
        const r = await all(query.query({ level: 'PATIENT', keys: [key, k(Tag.PatientID, 'LO')] }));
        expect(r.map((x) => value(x, Tag.PatientID))).toEqual(['P2']);
        const miss: QueryKey = { ...key, items: [k(Tag.PatientID, 'LO', 'ALT-78')] };
        expect(await all(query.query({ level: 'PATIENT', keys: [miss] }))).toHaveLength(0);
      });

      it('pages: offset and limit, across index pages, never unbounded', async () => {
        const keys = [k(Tag.SOPInstanceUID, 'UI')];
        const every = await all(query.query({ level: 'IMAGE', keys }));
        expect(every.length).toBeGreaterThanOrEqual(5);
        const page = await all(query.query({ level: 'IMAGE', keys, offset: 2, limit: 2 }));
        expect(page).toEqual(every.slice(2, 4));
        const capped = new QueryService(index, { maxResults: 2, pageSize: 2 });
        expect(await all(capped.query({ level: 'IMAGE', keys, limit: 100 }))).toHaveLength(2);
        const more = await all(capped.queryWithMore({ level: 'IMAGE', keys }));
        expect(more.at(-1)).toEqual({ more: true });
      });
    });

    it('lists the instances of a study, series or instance by UID in series and instance order', async () => {
      const study = await index.instancesByUid({ study: studyA });
      expect(study.length).toBe(4);
      expect(study.slice(0, 3).every((r) => r.seriesUid === seriesA1)).toBe(true);
      expect(study[3].seriesUid).toBe(seriesA2);
      expect(study[0].receivedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      const series = await index.instancesByUid({ study: studyA, series: seriesA1 });
      expect(series.map((r) => r.sopInstanceUid)).toEqual(study.slice(0, 3).map((r) => r.sopInstanceUid));
      const one = await index.instancesByUid({ study: studyA, instance: study[1].sopInstanceUid });
      expect(one.map((r) => r.sopInstanceUid)).toEqual([study[1].sopInstanceUid]);
      // The hierarchy must hold: an instance under another study is not found.
      expect(await index.instancesByUid({ study: studyB, instance: study[1].sopInstanceUid })).toEqual([]);
      expect(await index.instancesByUid({ series: seriesA2 })).toHaveLength(1);
    });

    it('verify re-hashes every object, records what it found, and alerts once on damage and on repair', async () => {
      const { audit, clinical } = trail();
      const damaged: string[] = [];
      const verify = new VerifyService(index, blobs, {
        clock: systemClock,
        audit: clinical,
        onDamaged: (o) => damaged.push(o.blobKey),
      });
      const alerts = async () =>
        (await audit.list({ eventId: '110113' }, 100, 0))
          .map((r) => r.event)
          .filter((e) => e.outcomeDescription?.startsWith('integrity check'));
      const clean = await verify.run();
      expect(clean.mismatched).toEqual([]);
      expect(clean.missing).toEqual([]);
      expect(clean.checked).toBe((await index.counts()).instances);
      const rows = await index.listInstances(0, 3);
      expect(rows.every((r) => r.integrity === '' && r.verifiedAt !== '')).toBe(true);
      const { readFileSync, writeFileSync, unlinkSync } = await import('node:fs');
      const original = readFileSync(blobs.path(rows[0].blobKey));
      const flipped = Buffer.from(original);
      flipped[flipped.length - 1] ^= 0xff;
      writeFileSync(blobs.path(rows[0].blobKey), flipped);
      unlinkSync(blobs.path(rows[1].blobKey));
      const bad = await verify.run();
      expect(bad.mismatched.map((m) => [m.sopInstanceUid, m.detail])).toEqual([
        [rows[0].sopInstanceUid, 'SHA-256 differs from the recorded digest'],
      ]);
      expect(bad.missing.map((m) => m.sopInstanceUid)).toEqual([rows[1].sopInstanceUid]);
      // Recorded on the rows, listed, logged by storage key, and alerted once per finding.
      expect((await index.damagedInstances(0, 10)).map((r) => [r.sopInstanceUid, r.integrity])).toEqual([
        [rows[0].sopInstanceUid, 'mismatch'],
        [rows[1].sopInstanceUid, 'missing'],
      ]);
      expect(damaged).toEqual([rows[0].blobKey, rows[1].blobKey]);
      const found = await alerts();
      expect(found.map((e) => e.outcome).sort()).toEqual([8, 8]);
      const named = found.flatMap((e) =>
        e.objects!.flatMap((o) => (o.sopClasses ?? []).flatMap((c) => c.instanceUids ?? [])),
      );
      expect(named.sort()).toEqual([rows[0].sopInstanceUid, rows[1].sopInstanceUid].sort());
      // Checked again and still damaged: no new alert. A background step walks the archive in id order.
      const step = await verify.step(0, { maxObjects: 2, maxBytes: 1e12 });
      expect(step).toMatchObject({ checked: 2, next: rows[1].id });
      const rest = await verify.step(step.next!, { maxObjects: 1e6, maxBytes: 1e12, bytesPerSecond: 1e9 });
      expect(rest.next).toBeUndefined();
      expect(step.checked + rest.checked).toBe((await index.counts()).instances);
      expect(await alerts()).toHaveLength(2);
      // Restored from a backup: whole again, served again, and recorded.
      writeFileSync(blobs.path(rows[0].blobKey), original);
      await verify.check([(await index.findInstance(rows[0].sopInstanceUid))!]);
      expect((await index.damagedInstances(0, 10)).map((r) => r.sopInstanceUid)).toEqual([
        rows[1].sopInstanceUid,
      ]);
      const [repaired] = await alerts();
      expect([repaired.outcome, repaired.outcomeDescription]).toEqual([
        0,
        'integrity check: 1 stored object(s) whole again (restored); served again',
      ]);
    });
  });
}
