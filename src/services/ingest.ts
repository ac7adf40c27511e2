import { createHash, randomUUID } from 'node:crypto';
import { Tag } from '../core/dicom/dictionary.js';
import { attributesToJson, type JsonDataset, toJsonText } from '../core/dicom/json.js';
import { DicomParser, type ParseResult } from '../core/dicom/parser.js';
import { TransferSyntaxUid } from '../core/dicom/transfer-syntax.js';
import { getNumber, getString } from '../core/dicom/values.js';
import { buildMeta, encodeFileHeader } from '../core/dicom/writer.js';
import { DicomFormatError, LanternError } from '../core/errors.js';
import { PATIENT_KEYS, SERIES_KEYS, STUDY_KEYS } from '../core/query/levels.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { BlobStore, TempBlob } from '../ports/blob-store.js';
import type { Clock } from '../ports/clock.js';
import type {
  ArchiveIndex,
  IndexTx,
  IngestFacts,
  IngestSession,
  InstanceRecord,
} from '../ports/archive-index.js';
import { type Confirmed, DurabilityWindow } from './ingest-window.js';
import { storedDigest } from './verify.js';
import type { AuditedInstance, ClinicalAudit, Party, ReceivedObject } from './clinical-audit.js';
import { isUid } from '../core/dicom/uid.js';
import { checkHkid } from '../core/patient/hkid.js';
import { identityOf } from '../core/patient/identity.js';
import type { Participant } from '../core/audit/events.js';
import { ReceivedTransfer, TRANSFER_PART } from './transfer.js';

export interface IngestDeps {
  readonly index: ArchiveIndex;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  /** Our implementation class UID, written into meta headers we create. */
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** Where received and imported instances are recorded. */
  readonly audit?: ClinicalAudit;
  /** This node's name: its ingest sessions are its own to recover (docs/architecture.md, "Crash safety"). */
  readonly nodeId: string;
  /** This process's id, recorded with its session (default 0). */
  readonly pid?: number;
  /** Whether a process of this node is still running; absent, sessions of others are never ended early. */
  readonly alive?: (pid: number) => boolean;
  /**
   * A record the service writes on its own could not be written (a part of a long transfer): the operation
   * goes on, the objects' rows stay for the next start to record. For the operational log.
   */
  readonly onAuditFailure?: (e: Error, what: string) => void;
  /** The most objects one record of a transfer names (default TRANSFER_PART). */
  readonly transferPart?: number;
}

/** What the start-up recovery found. */
export interface RecoveryReport {
  /** Index rows whose files were checked. */
  readonly checked: number;
  /** Rows removed because their file was missing or not whole: their objects were never acknowledged. */
  readonly removed: readonly { readonly blobKey: string; readonly kind: 'instance' | 'quarantine' }[];
}

/** How the record of a transfer that the start-up recovery writes says it ended. */
const STOPPED = 'the archive stopped before the transfer ended (recorded at the next start)';

/** This process among those that had its pid before it (see IngestSession.processToken). */
const PROCESS_TOKEN = randomUUID();

/** How often the confirmed ids of the session are written, at most. */
const CONFIRM_MS = 1000;
/** A session not confirmed for this long belongs to no running process that still has work in flight. */
const SESSION_STALE_MS = 24 * 60 * 60 * 1000;

export interface IngestRequest {
  /** The object's bytes: a Part 10 file, or a bare dataset when `transferSyntaxUid` is given. */
  readonly chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** The calling AE title or user; recorded with the instance. */
  readonly source?: string;
  /** For bare datasets (no meta header): the transfer syntax they are encoded in. */
  readonly transferSyntaxUid?: string;
  /** What the sender declared (e.g. the negotiated presentation context): checked against the object. */
  readonly expectSopClassUid?: string;
  readonly expectSopInstanceUid?: string;
  /** The study the object must belong to (STOW-RS to /studies/{study}). */
  readonly expectStudyUid?: string;
  /** Who stores (needs study.store); absent: Lantern itself. */
  readonly actor?: Actor;
  /**
   * The transfer the object is part of (`beginTransfer`): it is recorded for it once acknowledged, counted
   * as failed when it fails.
   */
  readonly transfer?: ReceivedTransfer;
}

/** What the archive now holds for the object's UIDs. */
interface Stored {
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly seriesUid: string;
  readonly studyUid: string;
  readonly warnings: string[];
}

export type IngestOutcome =
  | (Stored & { readonly status: 'stored' })
  | (Stored & { readonly status: 'duplicate' })
  | (Stored & {
      readonly status: 'quarantined';
      readonly reasonCode: 'LNT_INGEST_CONFLICT';
      readonly reason: string;
    });

/** Values below this size stay in the index's JSON copy of the dataset; larger bulk values do not. */
const INLINE_BULK_LIMIT = 1024;
const MAX_HELD = 1024 * 1024;

function blobKey(prefix: 'objects' | 'quarantine'): string {
  const id = randomUUID();
  return `${prefix}/${id.slice(0, 2)}/${id}.dcm`;
}

function isDicm(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/** A preamble PS3.10 7.5 lets us keep: all zeros, or a TIFF header (dual-personality files). */
function harmlessPreamble(p: Uint8Array): boolean {
  if (p.every((b) => b === 0)) return true;
  const tiff =
    (p[0] === 0x49 && p[1] === 0x49 && p[2] === 0x2a && p[3] === 0x00) ||
    (p[0] === 0x4d && p[1] === 0x4d && p[2] === 0x00 && p[3] === 0x2a);
  return tiff;
}

/**
 * The ingest path (docs/architecture.md, "Ingest"): stream to a temporary file in the storage area while
 * hashing and parsing, validate, make the file durable, record it in one index transaction, then report.
 * Nothing is acknowledged before it is durable; nothing partial reaches the index.
 */
export class IngestService {
  private window = new DurabilityWindow({ instance: 0, quarantine: 0 });
  private session: Promise<IngestSession> | undefined;
  private confirmTimer: ReturnType<typeof setTimeout> | undefined;
  private confirming: Promise<void> = Promise.resolve();
  private written: Confirmed | undefined;

  constructor(private readonly deps: IngestDeps) {}

  private get part(): number {
    return Math.max(1, this.deps.transferPart ?? TRANSFER_PART);
  }

  /** This process's session, opened (and durable) before its first object is recorded. */
  private openSession(): Promise<IngestSession> {
    this.session ??= (async () => {
      const { index, clock, nodeId } = this.deps;
      const s = await index.write((tx) =>
        tx.openIngestSession(nodeId, this.deps.pid ?? 0, PROCESS_TOKEN, clock.now().toISOString()),
      );
      this.window = new DurabilityWindow({
        instance: s.confirmedInstanceId,
        quarantine: s.confirmedQuarantineId,
      });
      this.written = { instance: s.confirmedInstanceId, quarantine: s.confirmedQuarantineId };
      return s;
    })();
    this.session.catch(() => (this.session = undefined));
    return this.session;
  }

  /** Writes the confirmed ids soon (at most once a second): until then, a recovery checks a little more. */
  private confirmSoon(): void {
    if (this.confirmTimer) return;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      void this.confirm();
    }, CONFIRM_MS);
    this.confirmTimer.unref?.();
  }

  private confirm(): Promise<void> {
    this.confirming = this.confirming.then(async () => {
      const session = await this.session?.catch(() => undefined);
      if (!session) return;
      const c = this.window.confirmed();
      if (this.written && c.instance === this.written.instance && c.quarantine === this.written.quarantine) {
        return;
      }
      const at = this.deps.clock.now().toISOString();
      // A failure costs nothing but a longer check at the next start.
      await this.deps.index
        .write((tx) => tx.confirmIngestSession(session, c.instance, c.quarantine, at))
        .then(() => (this.written = c))
        .catch(() => undefined);
    });
    return this.confirming;
  }

  /**
   * Ends this process's session once every object under way is durable (at most `waitMs`); if some are
   * still under way, their window stays for the next start to check.
   */
  async close(waitMs = 10_000): Promise<void> {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    const session = await this.session?.catch(() => undefined);
    if (!session) return;
    for (const end = Date.now() + waitMs; this.window.size && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.confirming;
    if (this.window.size) {
      await this.confirm();
      return;
    }
    await this.deps.index.write((tx) => tx.closeIngestSession(session.id)).catch(() => undefined);
  }

  /**
   * The start-up recovery (docs/architecture.md, "Crash safety"). An index row can be committed while its
   * file's sync is still under way; after a power loss the row may be there and the file missing or not
   * whole. Such an object was never acknowledged (the acknowledgement waits for both), so its row is removed
   * (audited) and the file with it. Only rows after the confirmed ids of this node's sessions are checked:
   * size and SHA-256 against the row. Sessions whose process is gone are then ended.
   */
  async recover(): Promise<RecoveryReport> {
    const { index, clock, nodeId } = this.deps;
    const sessions = await index.ingestSessions(nodeId);
    const checked = sessions.length ? await this.checkWindow(sessions) : { checked: 0, bad: [] };
    // Sessions of processes that are gone (or silent for a day) have been checked: what they received and
    // did not record goes into the trail now, then they end.
    const now = clock.now().getTime();
    const pid = this.deps.pid ?? 0;
    const gone = sessions.filter((s) => {
      // This very process's own (another service of it sharing the index) is never gone.
      if (s.pid === pid && s.processToken === PROCESS_TOKEN) return false;
      // Our pid but another process: an earlier one, gone (a container restarted has the same pid).
      if (s.pid === pid) return true;
      return (
        (this.deps.alive !== undefined && !this.deps.alive(s.pid)) ||
        now - Date.parse(s.updatedAt) > SESSION_STALE_MS
      );
    });
    const removed = new Set(checked.bad.map((b) => `${b.kind}:${b.sopInstanceUid}`));
    await this.recordLeftTransfers(
      gone.map((s) => s.id),
      removed,
    );
    for (const s of gone) await index.write((tx) => tx.closeIngestSession(s.id));
    return {
      checked: checked.checked,
      removed: checked.bad.map((b) => ({ blobKey: b.blobKey, kind: b.kind })),
    };
  }

  /**
   * Checks the rows recorded after the confirmed ids of these sessions, removing (audited) those whose file
   * is missing or not whole.
   */
  private async checkWindow(sessions: readonly IngestSession[]): Promise<{
    checked: number;
    bad: { blobKey: string; kind: 'instance' | 'quarantine'; sopInstanceUid: string }[];
  }> {
    const { index, blobs } = this.deps;
    const fromInstance = Math.min(...sessions.map((s) => s.confirmedInstanceId));
    const fromQuarantine = Math.min(...sessions.map((s) => s.confirmedQuarantineId));
    let checked = 0;
    const bad: {
      id: number;
      blobKey: string;
      kind: 'instance' | 'quarantine';
      studyUid: string;
      sopClassUid: string;
      sopInstanceUid: string;
    }[] = [];
    const check = async <
      R extends {
        id: number;
        blobKey: string;
        size: number;
        sha256: string;
        studyUid: string;
        sopInstanceUid: string;
      },
    >(
      kind: 'instance' | 'quarantine',
      from: number,
      page: (afterId: number, limit: number) => Promise<R[]>,
      sopClassOf: (r: R) => string,
    ) => {
      for (let after = from; ;) {
        const rows = await page(after, 200);
        if (!rows.length) return;
        for (const r of rows) {
          checked++;
          if (!(await this.intact(r.blobKey, r.size, r.sha256))) {
            bad.push({
              id: r.id,
              blobKey: r.blobKey,
              kind,
              studyUid: r.studyUid,
              sopClassUid: sopClassOf(r),
              sopInstanceUid: r.sopInstanceUid,
            });
          }
        }
        after = rows[rows.length - 1].id;
      }
    };
    await check(
      'instance',
      fromInstance,
      (a, n) => index.listInstances(a, n),
      (r) => r.sopClassUid,
    );
    await check(
      'quarantine',
      fromQuarantine,
      (a, n) => index.listQuarantine(a, n),
      () => '',
    );
    const instances = bad.filter((b) => b.kind === 'instance');
    await this.deps.audit?.recovered(instances);
    for (const b of bad) {
      await index.write((tx) =>
        b.kind === 'instance' ? tx.removeInstance(b.id) : tx.removeQuarantine(b.id),
      );
      await blobs.delete(b.blobKey);
    }
    return { checked, bad };
  }

  /**
   * Records the transfers that stopped processes left without their record (docs/audit.md): the objects
   * they acknowledged are in the index with their transfer; this process claims them (another recovery
   * running at the same time then finds none), records each transfer as ended by the stop, and forgets
   * them. Objects whose file did not survive (`removed`) were never acknowledged and are left out.
   */
  private async recordLeftTransfers(goneSessions: readonly number[], removed: ReadonlySet<string>) {
    const { index, audit } = this.deps;
    if (!audit || !(await index.countReceived(goneSessions))) return;
    const session = await this.openSession();
    await index.write((tx) => tx.adoptReceived(goneSessions, session.id));
    const transfers = new Map<string, { party: string; objects: ReceivedObject[]; rows: number[] }>();
    for (const r of await index.receivedOf(session.id)) {
      let t = transfers.get(r.transfer);
      if (!t) transfers.set(r.transfer, (t = { party: r.party, objects: [], rows: [] }));
      t.rows.push(r.id);
      const kind = r.status === 'quarantined' ? 'quarantine' : 'instance';
      if (r.status !== 'duplicate' && removed.has(`${kind}:${r.sopInstanceUid}`)) continue;
      t.objects.push(r);
    }
    for (const t of transfers.values()) {
      const from = JSON.parse(t.party) as Participant;
      let written = true;
      for (let i = 0; i < Math.max(1, t.objects.length); i += this.part) {
        written = (await audit.received(from, t.objects.slice(i, i + this.part), 0, STOPPED)) && written;
      }
      await this.recordTransferEnd(
        t.objects.map((o) => o.studyUid),
        0,
        STOPPED,
      );
      if (written) await index.write((tx) => tx.removeReceived(session.id, t.rows));
    }
  }

  /** The stored object is there, whole: its size and SHA-256 are the row's. */
  private async intact(key: string, size: number, sha256: string): Promise<boolean> {
    try {
      const now = await storedDigest(this.deps.blobs, key);
      return now?.size === size && now.sha256 === sha256;
    } catch (e) {
      if (e instanceof LanternError && e.code === 'LNT_NOT_FOUND') return false;
      throw e;
    }
  }

  /**
   * Puts right what a failed object left: a unit of work that failed recorded nothing, so its file goes;
   * a row committed for a file that could not be made durable is removed with it. Where that cannot be
   * done (the index's own log sync failed, or the removal failed), the object stays in the window, which
   * the next start's recovery checks.
   */
  private async undo(
    key: string,
    written: PromiseSettledResult<{
      status: 'stored' | 'quarantined' | 'duplicate';
      id?: number;
      /** The object's row for its transfer: it goes too (the object was not acknowledged). */
      row?: number;
    }>,
    token: number,
    session: IngestSession,
  ): Promise<void> {
    const { index, blobs } = this.deps;
    if (written.status === 'rejected') {
      const e: unknown = written.reason;
      if (e instanceof LanternError && e.code === 'LNT_STORAGE_FAILED') return;
      await blobs.delete(key).catch(() => undefined);
      this.window.settled(token);
      return;
    }
    const row = written.value;
    try {
      await index.write(async (tx) => {
        if (row.status === 'stored') await tx.removeInstance(row.id!);
        if (row.status === 'quarantined') await tx.removeQuarantine(row.id!);
        if (row.row !== undefined) await tx.removeReceived(session.id, [row.row]);
      });
      await blobs.delete(key);
      this.window.settled(token);
    } catch {
      // Left to the recovery pass.
    }
  }

  /**
   * An object of `t` acknowledged (its row in the index written with it): kept for the transfer's record,
   * which is written in parts as it grows. A part's record that fails leaves its rows for the next start.
   */
  private async acknowledged(t: ReceivedTransfer, o: ReceivedObject, row: number | undefined): Promise<void> {
    t.acknowledged.push(o);
    if (row !== undefined) t.rows.push(row); // always, for an object of a transfer
    t.studies.add(o.studyUid);
    // A part is recorded once the next object shows the transfer goes on beyond it.
    if (t.acknowledged.length <= this.part) return;
    await this.recordPart(t, this.part).catch((e: unknown) =>
      this.deps.onAuditFailure?.(e as Error, 'a part of a transfer'),
    );
  }

  /** A transfer into the archive by `from` (a DICOM association's C-STOREs, a STOW-RS request) begins. */
  beginTransfer(from: Party): ReceivedTransfer {
    const party = this.deps.audit ? JSON.stringify(this.deps.audit.participantOf(from)) : '';
    return new ReceivedTransfer(from, party);
  }

  /**
   * Records a transfer into the archive once it ends (PS3.15 DICOM Instances Transferred, create): the
   * objects acknowledged since its last part, each named, and how many failed; `interrupted` says how it
   * ended when not as its sender meant. Its studies are marked when it did not complete.
   */
  async endTransfer(t: ReceivedTransfer, interrupted?: string): Promise<void> {
    await t.settled();
    if (t.acknowledged.length || t.failed) await this.recordPart(t, undefined, interrupted);
    await this.recordTransferEnd([...t.studies], t.failedInAll, interrupted);
  }

  /**
   * Writes the record of the first `count` objects of a transfer since its last part (all of them: the
   * transfer ended), then forgets their rows kept for the recovery. Should the record fail, the rows stay, and the next start records them.
   */
  private async recordPart(t: ReceivedTransfer, count?: number, interrupted?: string): Promise<void> {
    const last = count === undefined;
    const objects = t.acknowledged.splice(0, count ?? t.acknowledged.length);
    const rows = t.rows.splice(0, objects.length);
    const failed = t.failed;
    const from = t.recorded + 1;
    t.failed = 0;
    t.recorded += objects.length;
    const part =
      objects.length && (!last || from > 1)
        ? `objects ${from} to ${t.recorded} of the transfer${last ? ', the last' : ' (it goes on)'}`
        : undefined;
    const note = [part, interrupted].filter(Boolean).join('; ');
    const written = (await this.deps.audit?.received(t.from, objects, failed, note || undefined)) ?? true;
    // Unwritten (the site's fail-open emergency), its rows stay: the next start records them.
    const session = rows.length && written ? await this.session : undefined;
    if (session)
      await this.deps.index.write((tx) => tx.removeReceived(session.id, rows)).catch(() => undefined);
  }

  /**
   * Marks the studies a transfer stored into as incomplete when it failed objects or ended abnormally (the
   * study list shows it, so a radiographer knows to resend), or clears that mark when a transfer completes.
   * The reason names counts and how the transfer ended, never a value of the data.
   */
  private async recordTransferEnd(
    studyUids: readonly string[],
    failed: number,
    interrupted: string | undefined,
  ): Promise<void> {
    const studies = [...new Set(studyUids)];
    if (!studies.length) return;
    const problem = [interrupted, failed ? `${failed} object(s) of the transfer not stored` : undefined]
      .filter(Boolean)
      .join('; ');
    if (!problem) {
      // A completed transfer clears an earlier mark; most studies have none, and a read costs no log sync.
      const marked = await this.deps.index.studyTransfers(studies);
      if (![...marked.values()].some((s) => s.transferProblem)) return;
    }
    const at = this.deps.clock.now().toISOString();
    await this.deps.index.write((tx) => tx.setTransferProblem(studies, problem, at));
  }

  /** Records an import from files (PS3.15 Import): who, from which paths, what was stored and rejected. */
  async recordImported(
    by: Party,
    sources: readonly string[],
    stored: readonly AuditedInstance[],
    rejected: number,
  ): Promise<void> {
    await this.deps.audit?.imported(by, sources, stored, rejected);
  }

  async ingest(req: IngestRequest): Promise<IngestOutcome> {
    return req.transfer ? req.transfer.track(this.ingestOne(req)) : this.ingestOne(req);
  }

  private async ingestOne(req: IngestRequest): Promise<IngestOutcome> {
    requirePermission(req.actor, 'study.store');
    const { blobs } = this.deps;
    const temp = await blobs.createTemp();
    try {
      const received = await this.receive(req, temp);
      return await this.record(req, received, temp);
    } finally {
      await temp.abort();
    }
  }

  /** Streams the object into `temp`, returning what was parsed and the digest of the stored bytes. */
  private async receive(
    req: IngestRequest,
    temp: TempBlob,
  ): Promise<{ parsed: ParseResult; sha256: string; warnings: string[] }> {
    const parser = new DicomParser({
      bulkDataThreshold: INLINE_BULK_LIMIT,
      assumeTransferSyntax: req.transferSyntaxUid,
      // PS3.5 7.1.1: every value length is even. An odd one means a broken writer; refuse it precisely.
      rejectOddLengths: true,
      // What we store must be readable by every other system: structural damage is refused, with its offset.
      strict: true,
    });
    const hash = createHash('sha256');
    const warnings: string[] = [];
    const put = async (chunk: Uint8Array) => {
      hash.update(chunk);
      await temp.write(chunk);
    };
    // Bytes held back until we know what to write first: the preamble to check (files with a meta
    // header), or a meta header to build from the dataset's UIDs (bare datasets).
    let held: Uint8Array[] | undefined = [];
    let heldLength = 0;
    const release = async () => {
      if (!held) return;
      const first = held.length === 1 ? held[0] : Buffer.concat(held);
      held = undefined;
      if (parser.hasMeta === false) {
        await this.writeMetaFor(parser, first, put);
        return;
      }
      if (isDicm(first) && !harmlessPreamble(first.subarray(0, 128))) {
        warnings.push('preamble was neither zeros nor a TIFF header: zeroed (PS3.10 7.5)');
        await put(new Uint8Array(128));
        await put(first.subarray(128));
        return;
      }
      await put(first);
    };
    const ready = () => {
      const meta = parser.hasMeta;
      if (meta === undefined) return false;
      if (meta) return true;
      return parser.lastTopLevelTag > Tag.SOPInstanceUID || parser.stopped;
    };
    for await (const chunk of req.chunks) {
      parser.push(chunk);
      if (held) {
        held.push(chunk);
        heldLength += chunk.length;
        if (ready()) await release();
        else if (heldLength > MAX_HELD) {
          throw new DicomFormatError(
            'LNT_DICOM_MISSING_ATTRIBUTE',
            'no SOP Instance UID within the first MiB of the dataset',
          );
        }
      } else await put(chunk);
    }
    const parsed = parser.end();
    if (held) await release();
    return { parsed, sha256: hash.digest('hex'), warnings: [...warnings, ...parsed.warnings] };
  }

  /** Writes preamble, DICM and a meta header built from the dataset, then the dataset bytes seen so far. */
  private async writeMetaFor(
    parser: DicomParser,
    first: Uint8Array,
    put: (c: Uint8Array) => Promise<void>,
  ): Promise<void> {
    const ds = parser.peekTopLevel();
    const sopClassUid = getString(ds, Tag.SOPClassUID);
    const sopInstanceUid = getString(ds, Tag.SOPInstanceUID);
    if (!sopClassUid || !sopInstanceUid) {
      throw new DicomFormatError(
        'LNT_DICOM_MISSING_ATTRIBUTE',
        'dataset has no SOP Class UID or SOP Instance UID',
      );
    }
    const meta = buildMeta({
      sopClassUid,
      sopInstanceUid,
      transferSyntaxUid: parser.transferSyntax?.uid ?? TransferSyntaxUid.ImplicitVRLittleEndian,
      implementationClassUid: this.deps.implementationClassUid,
      implementationVersionName: this.deps.implementationVersionName,
    });
    await put(encodeFileHeader(meta));
    await put(first);
  }

  private async record(
    req: IngestRequest,
    received: { parsed: ParseResult; sha256: string; warnings: string[] },
    temp: TempBlob,
  ): Promise<IngestOutcome> {
    const { index, clock } = this.deps;
    const { parsed, sha256, warnings } = received;
    const rec = this.validate(req, parsed, sha256, temp.length, clock.now().toISOString(), warnings);
    const sop = rec.instance.sopInstanceUid;
    const studyUid = rec.study.studyUid;

    // A first look outside the transaction decides where the file goes; the transaction decides for good.
    const keys = {
      sopInstanceUid: sop,
      studyUid,
      seriesUid: rec.series.seriesUid,
      patientId: rec.patient.patientId,
      issuer: rec.patient.issuer,
    };
    const pre = conflictOf(await index.ingestFacts(keys), rec);
    const ids = {
      sopInstanceUid: sop,
      sopClassUid: rec.instance.sopClassUid,
      seriesUid: rec.series.seriesUid,
      studyUid,
      warnings,
    };
    // The object is recorded for its transfer with its own rows (for the audit trail: see ReceivedInstance).
    const transfer = this.deps.audit ? req.transfer : undefined;
    const acked = (status: ReceivedObject['status']): ReceivedObject => ({
      studyUid,
      sopClassUid: rec.instance.sopClassUid,
      sopInstanceUid: sop,
      patientId: rec.patient.patientId,
      status,
    });
    const forTransfer = async (tx: IndexTx, session: IngestSession, status: ReceivedObject['status']) =>
      transfer
        ? tx.addReceived(session.id, {
            ...acked(status),
            transfer: transfer.key,
            party: transfer.party,
            receivedAt: rec.instance.receivedAt,
          })
        : undefined;
    if (pre === 'duplicate') {
      if (transfer) {
        const session = await this.openSession();
        const row = await index.write((tx) => forTransfer(tx, session, 'duplicate'));
        await this.acknowledged(transfer, acked('duplicate'), row);
      }
      return { status: 'duplicate', ...ids };
    }
    const key = blobKey(pre ? 'quarantine' : 'objects');
    // One flush per object, shared with the others arriving at the same time: the file is placed (whole,
    // under its name), then its sync and the index's commit with its log sync run together, and the object
    // is acknowledged once both are done. A power loss between the two can leave an index row whose file
    // is not durable; the start-up recovery pass (`recover`) checks every row of the window not yet
    // confirmed and removes those, which were never acknowledged.
    const session = await this.openSession();
    await temp.place(key);
    const window = this.window.open();
    const durable = temp.sync();
    durable.catch(() => undefined); // awaited below; this only marks it handled
    const writing = index.write(async (tx) => {
      const facts = await tx.ingestFacts(keys);
      const conflict = conflictOf(facts, rec);
      if (conflict === 'duplicate') {
        return { status: 'duplicate' as const, row: await forTransfer(tx, session, 'duplicate') };
      }
      if (conflict) {
        const id = await tx.addQuarantine({
          blobKey: key,
          reasonCode: 'LNT_INGEST_CONFLICT',
          reason: conflict,
          sopInstanceUid: sop,
          studyUid,
          patientId: rec.patient.patientId,
          size: temp.length,
          sha256,
          receivedAt: rec.instance.receivedAt,
          sourceAet: rec.instance.sourceAet,
        });
        this.window.allocated(window, 'quarantine', id);
        const row = await forTransfer(tx, session, 'quarantined');
        return { status: 'quarantined' as const, reason: conflict, id, row };
      }
      const id = await tx.insertInstance({ ...rec, instance: { ...rec.instance, blobKey: key } }, facts);
      this.window.allocated(window, 'instance', id);
      const row = await forTransfer(tx, session, 'stored');
      return { status: 'stored' as const, id, row };
    });
    const [written, synced] = await Promise.allSettled([writing, durable]);
    if (written.status === 'rejected' || synced.status === 'rejected') {
      await this.undo(key, written, window, session);
      const e: unknown =
        written.status === 'rejected' ? written.reason : (synced as PromiseRejectedResult).reason;
      throw e instanceof LanternError
        ? e
        : new LanternError('LNT_INDEX_FAILED', `index could not record the object: ${(e as Error).message}`, {
            cause: e,
          });
    }
    const outcome = written.value;
    this.window.settled(window);
    this.confirmSoon();
    if (transfer) await this.acknowledged(transfer, acked(outcome.status), outcome.row);
    if (outcome.status === 'duplicate') {
      await this.deps.blobs.delete(key);
      return { status: 'duplicate', ...ids };
    }
    if (outcome.status === 'quarantined') {
      return { status: 'quarantined', ...ids, reasonCode: 'LNT_INGEST_CONFLICT', reason: outcome.reason };
    }
    return { status: 'stored', ...ids };
  }

  /** Checks the required attributes and builds the index record. */
  private validate(
    req: IngestRequest,
    parsed: ParseResult,
    sha256: string,
    size: number,
    now: string,
    warnings: string[],
  ): InstanceRecord {
    const ds = parsed.dataset;
    const need = (tag: number, name: string): string => {
      const v = getString(ds, tag);
      if (!v) throw new DicomFormatError('LNT_DICOM_MISSING_ATTRIBUTE', `${name} is missing or empty`);
      return v;
    };
    const uid = (tag: number, name: string): string => {
      const v = need(tag, name);
      if (!isUid(v)) throw new DicomFormatError('LNT_DICOM_INVALID_UID', `${name} is not a valid UID`);
      return v;
    };
    const sopClassUid = uid(Tag.SOPClassUID, 'SOP Class UID');
    const sopInstanceUid = uid(Tag.SOPInstanceUID, 'SOP Instance UID');
    const studyUid = uid(Tag.StudyInstanceUID, 'Study Instance UID');
    const seriesUid = uid(Tag.SeriesInstanceUID, 'Series Instance UID');
    if (parsed.meta) {
      // A stale meta header (common after older editing tools) does not make the object unreadable: the
      // dataset's own UIDs are authoritative, and the difference is reported.
      const metaSop = getString(parsed.meta, Tag.MediaStorageSOPInstanceUID);
      const metaClass = getString(parsed.meta, Tag.MediaStorageSOPClassUID);
      if (metaSop && metaSop !== sopInstanceUid)
        warnings.push('meta header SOP Instance UID differs from the dataset');
      if (metaClass && metaClass !== sopClassUid)
        warnings.push('meta header SOP Class UID differs from the dataset');
    }
    if (req.expectSopClassUid && req.expectSopClassUid !== sopClassUid) {
      throw new DicomFormatError(
        'LNT_DICOM_INCONSISTENT_META',
        'SOP Class UID differs from the one the sender declared',
      );
    }
    if (req.expectStudyUid && req.expectStudyUid !== studyUid) {
      throw new DicomFormatError(
        'LNT_DICOM_INCONSISTENT_META',
        'Study Instance UID differs from the study the request names',
      );
    }
    if (req.expectSopInstanceUid && req.expectSopInstanceUid !== sopInstanceUid) {
      throw new DicomFormatError(
        'LNT_DICOM_INCONSISTENT_META',
        'SOP Instance UID differs from the one the sender declared',
      );
    }
    const pick = (keys: readonly number[]): JsonDataset =>
      attributesToJson(ds, [...keys, Tag.SpecificCharacterSet]);
    const s = (tag: number) => getString(ds, tag) ?? '';
    const patientAttrs = pick(PATIENT_KEYS);
    // An HKID number that does not hold is kept as sent, but cannot identify the patient (docs/patients.md).
    if ((identityOf(patientAttrs).hkid ?? []).some((v) => !checkHkid(v).ok))
      warnings.push(
        'an HKID number among the patient identifiers is not valid: it cannot identify the patient',
      );
    return {
      patient: {
        patientId: s(Tag.PatientID),
        issuer: s(Tag.IssuerOfPatientID),
        name: s(Tag.PatientName),
        birthDate: s(Tag.PatientBirthDate).replace(/\./g, ''),
        sex: s(Tag.PatientSex),
        attrs: patientAttrs,
      },
      study: {
        studyUid,
        date: s(Tag.StudyDate).replace(/\./g, ''),
        time: s(Tag.StudyTime),
        accessionNumber: s(Tag.AccessionNumber),
        studyId: s(Tag.StudyID),
        description: s(Tag.StudyDescription),
        referringPhysician: s(Tag.ReferringPhysicianName),
        attrs: pick(STUDY_KEYS),
      },
      series: {
        seriesUid,
        modality: s(Tag.Modality),
        number: getNumber(ds, Tag.SeriesNumber) ?? null,
        description: s(Tag.SeriesDescription),
        attrs: pick(SERIES_KEYS),
      },
      instance: {
        sopInstanceUid,
        sopClassUid,
        number: getNumber(ds, Tag.InstanceNumber) ?? null,
        transferSyntaxUid: parsed.transferSyntax.uid,
        blobKey: '',
        size,
        sha256,
        attrsJson: toJsonText(ds),
        receivedAt: now,
        sourceAet: req.source ?? '',
      },
    };
  }
}

/**
 * What stands in the way of recording `rec`: 'duplicate' (same object already stored), a conflict reason
 * (the object goes to quarantine), or undefined. Reasons name attributes, never their values.
 */
function conflictOf(facts: IngestFacts, rec: InstanceRecord): string | 'duplicate' | undefined {
  if (facts.instance) {
    if (facts.instance.sha256 === rec.instance.sha256) return 'duplicate';
    return 'an instance with this SOP Instance UID is already stored with different content';
  }
  // An operation on the patient's records is rewriting them: what comes meanwhile is reconciled after it.
  if (facts.patient?.changing || facts.study?.changing) {
    return "an operation on this patient's records was under way when the object arrived";
  }
  if (facts.study && facts.study.patientId !== rec.patient.patientId) {
    return 'the archive holds this Study Instance UID under a different Patient ID';
  }
  if (facts.series && facts.series.studyUid !== rec.study.studyUid) {
    return 'the archive holds this Series Instance UID in a different study';
  }
  if (facts.patient) {
    if (facts.patient.name !== rec.patient.name) {
      return "the Patient's Name differs from the one the archive holds for this Patient ID";
    }
    if (facts.patient.birthDate !== rec.patient.birthDate) {
      return "the Patient's Birth Date differs from the one the archive holds for this Patient ID";
    }
  }
  return undefined;
}
