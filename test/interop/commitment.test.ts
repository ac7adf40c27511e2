import { unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, EXPLICIT_LITTLE } from '../../src/core/dicom/dataset.js';
import { SopClass, Tag } from '../../src/core/dicom/dictionary.js';
import { sequenceElement, stringElement } from '../../src/core/dicom/encode.js';
import { parseDicom } from '../../src/core/dicom/parser.js';
import { getNumber, getString } from '../../src/core/dicom/values.js';
import { encodeDataset } from '../../src/core/dicom/writer.js';
import { type Command, CommandField } from '../../src/core/dimse/command.js';
import { ServiceSopClass } from '../../src/core/dimse/sop-classes.js';
import { Association } from '../../src/net/dimse/association.js';
import { STORAGE_COMMITMENT_INSTANCE } from '../../src/core/dimse/commitment.js';
import { startTestArchive, type TestArchive } from '../helpers/archive.js';
import { synthInstance } from '../helpers/synth.js';

/**
 * Storage Commitment Push Model. DCMTK has no storage commitment SCU, so our own requestor plays it: it asks
 * for commitment of a stored, a missing and a corrupted instance, and receives the N-EVENT-REPORT on the same
 * association, or on a new one after releasing.
 */
let archive: TestArchive;
const stored = synthInstance({ patientId: 'SC1', patientName: 'Commit^Carl' });
const corrupted = synthInstance({
  patientId: 'SC1',
  patientName: 'Commit^Carl',
  studyUid: stored.studyUid,
  instanceNumber: 2,
});
const deleted = synthInstance({
  patientId: 'SC1',
  patientName: 'Commit^Carl',
  studyUid: stored.studyUid,
  instanceNumber: 3,
});
let reportServer: Server;
let reportPort: number;
let reports: { command: Command; dataset: Dataset }[] = [];

beforeAll(async () => {
  archive = await startTestArchive();
  for (const i of [stored, corrupted, deleted])
    expect((await archive.app.ingest.ingest({ chunks: [i.bytes] })).status).toBe('stored');
  writeFileSync(
    join(archive.dir, 'storage', (await archive.app.index.findInstance(corrupted.sopUid))!.blobKey),
    'not what was stored',
  );
  unlinkSync(join(archive.dir, 'storage', (await archive.app.index.findInstance(deleted.sopUid))!.blobKey));
  // The requester's own acceptor, for reports that come on a new association.
  reportServer = createServer((socket) => {
    Association.accept(socket, {
      aeTitle: 'COMMITSCU',
      capabilities: {
        transferSyntaxesFor: (a) =>
          a === ServiceSopClass.StorageCommitmentPushModel
            ? new Set(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'])
            : undefined,
      },
      handlers: new Map([
        [
          CommandField.N_EVENT_REPORT_RQ,
          async (req) => {
            const parts: Uint8Array[] = [];
            for await (const c of req.dataset ?? []) parts.push(c);
            reports.push({
              command: req.command,
              dataset: parseDicom(Buffer.concat(parts), { assumeTransferSyntax: req.context.transferSyntax })
                .dataset,
            });
            return { status: 0 };
          },
        ],
      ]),
      admit: async () => undefined,
      maxPduLength: 65536,
      artimMs: 2000,
      idleMs: 10000,
      log: pino({ level: 'silent' }),
      implementationClassUid: '2.25.1',
      implementationVersionName: 'TEST',
    });
  });
  await new Promise<void>((r) => reportServer.listen(0, '127.0.0.1', () => r()));
  reportPort = (reportServer.address() as { port: number }).port;
  await archive.app.aes.add({
    mode: 'device',
    aeTitle: 'COMMITSCU',
    host: '127.0.0.1',
    port: reportPort,
    permissions: ['store'],
  });
});
afterAll(async () => {
  reportServer?.close();
  await archive?.close();
});

function request(transactionUid: string): Uint8Array {
  const ref = (uid: string) =>
    new Dataset(
      [
        stringElement(Tag.ReferencedSOPClassUID, 'UI', [SopClass.CTImageStorage]),
        stringElement(Tag.ReferencedSOPInstanceUID, 'UI', [uid]),
      ],
      EXPLICIT_LITTLE,
    );
  const ds = new Dataset([stringElement(Tag.TransactionUID, 'UI', [transactionUid])], EXPLICIT_LITTLE).with(
    sequenceElement(Tag.ReferencedSOPSequence, [
      ref(stored.sopUid),
      ref(corrupted.sopUid),
      ref(deleted.sopUid),
      ref('2.25.999'),
    ]),
  );
  return encodeDataset(ds, EXPLICIT_LITTLE);
}

async function connect(onReport?: (c: Command, d: Dataset) => void, callingAeTitle = 'COMMITSCU') {
  return Association.connect({
    host: '127.0.0.1',
    port: archive.port,
    callingAeTitle,
    calledAeTitle: 'LANTERN',
    contexts: [
      {
        abstractSyntax: ServiceSopClass.StorageCommitmentPushModel,
        transferSyntaxes: ['1.2.840.10008.1.2.1'],
      },
    ],
    implementationClassUid: '2.25.1',
    implementationVersionName: 'TEST',
    handlers: new Map([
      [
        CommandField.N_EVENT_REPORT_RQ,
        async (req) => {
          const parts: Uint8Array[] = [];
          for await (const c of req.dataset ?? []) parts.push(c);
          onReport?.(
            req.command,
            parseDicom(Buffer.concat(parts), { assumeTransferSyntax: '1.2.840.10008.1.2.1' }).dataset,
          );
          return { status: 0 };
        },
      ],
    ]),
  });
}

const nAction = (_transactionUid: string): Command => ({
  CommandField: CommandField.N_ACTION_RQ,
  RequestedSOPClassUID: ServiceSopClass.StorageCommitmentPushModel,
  RequestedSOPInstanceUID: STORAGE_COMMITMENT_INSTANCE,
  ActionTypeID: 1,
});

function checkReport(command: Command, ds: Dataset, transactionUid: string): void {
  expect(command.EventTypeID).toBe(2);
  expect(getString(ds, Tag.TransactionUID)).toBe(transactionUid);
  const ok = ds
    .get(Tag.ReferencedSOPSequence)!
    .items!.map((i) => getString(i.dataset, Tag.ReferencedSOPInstanceUID));
  expect(ok).toEqual([stored.sopUid]);
  const failed = ds
    .get(Tag.FailedSOPSequence)!
    .items!.map((i) => [
      getString(i.dataset, Tag.ReferencedSOPInstanceUID),
      getNumber(i.dataset, Tag.FailureReason),
    ]);
  expect(failed).toEqual([
    [corrupted.sopUid, 0x0110],
    [deleted.sopUid, 0x0110],
    ['2.25.999', 0x0112],
  ]);
}

describe('Storage Commitment Push Model SCP', () => {
  it('answers N-ACTION at once and reports on the same association, with the failures and their reasons', async () => {
    let got: ((v: [Command, Dataset]) => void) | undefined;
    const report = new Promise<[Command, Dataset]>((r) => (got = r));
    const a = await connect((c, d) => got?.([c, d]));
    const ctx = a.acceptedContext(ServiceSopClass.StorageCommitmentPushModel)!;
    const responses = [];
    for await (const r of a.request(ctx.id, nAction('2.25.4242'), request('2.25.4242'))) responses.push(r);
    expect(responses.map((r) => r.command.Status)).toEqual([0]);
    const [command, ds] = await report;
    checkReport(command, ds, '2.25.4242');
    // Recorded in the audit trail, with what was and was not committed.
    const [audited] = await archive.app.audit.list({ eventId: '110103' }, 1, 0);
    expect(audited.event.outcome).toBe(4);
    expect(audited.event.outcomeDescription).toMatch(/^storage commitment: 1 committed, \d+ failed$/);
    // Let our N-EVENT-REPORT response leave before the release.
    await new Promise((r) => setTimeout(r, 50));
    await a.release();
  });

  it('refuses a request from an AE that may not store here (it may only query)', async () => {
    await archive.app.aes.add({
      mode: 'device',
      aeTitle: 'FINDONLY',
      host: '',
      port: 0,
      permissions: ['find'],
    });
    let reported = false;
    const a = await connect(() => (reported = true), 'FINDONLY');
    const ctx = a.acceptedContext(ServiceSopClass.StorageCommitmentPushModel)!;
    const responses = [];
    for await (const r of a.request(ctx.id, nAction('2.25.4343'), request('2.25.4343'))) responses.push(r);
    expect(responses.map((r) => r.command.Status)).toEqual([0x0124]);
    await new Promise((r) => setTimeout(r, 200));
    expect(reported).toBe(false);
    const [alert] = await archive.app.audit.list({ eventId: '110113', outcome: 4 }, 1, 0);
    expect(alert.event.outcomeDescription).toBe('commitment refused: the AE may not store here');
    expect(alert.event.participants.find((p) => p.requestor)?.userId).toBe('FINDONLY');
    await a.release();
  });

  it('reports on a new association to the requester when it released first', async () => {
    reports = [];
    const a = await connect();
    const ctx = a.acceptedContext(ServiceSopClass.StorageCommitmentPushModel)!;
    for await (const _ of a.request(ctx.id, nAction('2.25.4343'), request('2.25.4343'))) void _;
    await a.release();
    const mine = () => reports.filter((r) => getString(r.dataset, Tag.TransactionUID) === '2.25.4343');
    for (let i = 0; i < 100 && mine().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(mine()).toHaveLength(1);
    checkReport(mine()[0].command, mine()[0].dataset, '2.25.4343');
  });
});
