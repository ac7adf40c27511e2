import { createHash } from 'node:crypto';
import { LanternError } from '../core/errors.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ArchiveIndex, InstanceRow, Integrity } from '../ports/archive-index.js';
import type { Clock } from '../ports/clock.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobHandler } from './job-runner.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';

export interface VerifyProblem {
  readonly sopInstanceUid: string;
  readonly blobKey: string;
  readonly detail: string;
}

export interface VerifyReport {
  readonly checked: number;
  readonly bytes: number;
  readonly mismatched: VerifyProblem[];
  readonly missing: VerifyProblem[];
}

/** The size and SHA-256 of a stored object as it is now; undefined when it is missing. */
export async function storedDigest(
  blobs: BlobStore,
  key: string,
): Promise<{ size: number; sha256: string } | undefined> {
  const size = await blobs.size(key);
  if (size === undefined) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of blobs.read(key)) hash.update(chunk);
  return { size, sha256: hash.digest('hex') };
}

export interface VerifyOptions {
  readonly clock: Clock;
  /** Where damage found (and repairs) are recorded as Security Alerts. */
  readonly audit?: ClinicalAudit;
  /** A newly damaged object, for the operational log (storage key and row id only: no patient data). */
  readonly onDamaged?: (o: {
    readonly id: number;
    readonly blobKey: string;
    readonly detail: string;
  }) => void;
}

/** How much a background step may do before it gives the job back (its lease is short). */
export interface StepLimits {
  readonly maxObjects: number;
  readonly maxBytes: number;
  /** Average read rate; unlimited when absent or 0. */
  readonly bytesPerSecond?: number;
  /** Called now and then while a step runs (the job's heartbeat). */
  readonly onProgress?: () => Promise<void>;
}

const PAGE = 200;

/**
 * Integrity verification (docs/operations.md, "Integrity"): each stored object re-read and re-hashed against
 * the size and SHA-256 the index recorded when it was stored. The outcome is recorded per instance (when, and
 * whether it is whole, its bytes differ, or its file is missing); an object found damaged is reported as a
 * Security Alert and from then on not served as if it were good (RetrieveService.servable); one found whole
 * again (restored from a backup) is served again, and that is recorded too. Runs on demand (`lantern
 * verify`, a study from the API) and in the background through the whole archive on a schedule (`step`).
 */
export class VerifyService {
  constructor(
    private readonly index: ArchiveIndex,
    private readonly blobs: BlobStore,
    private readonly options: VerifyOptions,
  ) {}

  /** Every stored object (the command line's `lantern verify`). */
  async run(onProgress?: (checked: number, bytes: number) => void, by?: Party): Promise<VerifyReport> {
    const report = emptyReport();
    for (let afterId = 0; ;) {
      const rows = await this.index.listInstances(afterId, PAGE);
      if (!rows.length) return report;
      afterId = rows[rows.length - 1].id;
      await this.check(rows, report, by);
      onProgress?.(report.checked, report.bytes);
    }
  }

  /** The objects of one study, now (on demand, from the API or the command line). */
  async study(studyUid: string, actor?: Actor, by?: Party): Promise<VerifyReport> {
    requirePermission(actor, 'system.read');
    const rows = await this.index.instancesByUid({ study: studyUid });
    if (!rows.length) throw new LanternError('LNT_NOT_FOUND', 'no stored instance of this study');
    const report = emptyReport();
    for (let i = 0; i < rows.length; i += PAGE) await this.check(rows.slice(i, i + PAGE), report, by);
    return report;
  }

  /**
   * One step of a background pass: the objects after `afterId`, in id order, within `limits`. Returns how
   * far it got, and `next` undefined when the pass has reached the end of the archive.
   */
  async step(
    afterId: number,
    limits: StepLimits,
  ): Promise<{ checked: number; bytes: number; next?: number }> {
    const report = emptyReport();
    const started = performance.now();
    let last = afterId;
    for (;;) {
      const room = limits.maxObjects - report.checked;
      if (room <= 0 || report.bytes >= limits.maxBytes) return { ...report, next: last };
      const rows = await this.index.listInstances(last, Math.min(PAGE, room));
      if (!rows.length) return { checked: report.checked, bytes: report.bytes };
      await this.check(rows, report, undefined, async (bytes) => {
        // Paced: the archive keeps serving while it checks itself.
        const rate = limits.bytesPerSecond ?? 0;
        if (rate > 0) {
          const ahead = (bytes / rate) * 1000 - (performance.now() - started);
          if (ahead > 0) await new Promise((r) => setTimeout(r, Math.min(ahead, 5000)));
        }
      });
      last = rows[rows.length - 1].id;
      await limits.onProgress?.();
    }
  }

  /**
   * Checks `rows` now: each re-hashed, every outcome recorded in one unit of work, and changes (newly
   * damaged, whole again) recorded as Security Alerts.
   */
  async check(
    rows: readonly InstanceRow[],
    report: VerifyReport = emptyReport(),
    by?: Party,
    paced?: (bytesSoFar: number) => Promise<void>,
  ): Promise<VerifyReport> {
    const results: { id: number; integrity: Integrity }[] = [];
    const damaged: { row: InstanceRow; detail: string }[] = [];
    const restored: InstanceRow[] = [];
    const counts = report as { checked: number; bytes: number };
    for (const row of rows) {
      const now = await storedDigest(this.blobs, row.blobKey).catch((e: unknown) => {
        if (e instanceof LanternError && e.code === 'LNT_NOT_FOUND') return undefined;
        throw e;
      });
      counts.checked++;
      let integrity: Integrity = '';
      let detail = '';
      if (!now) {
        integrity = 'missing';
        detail = 'file is missing';
        report.missing.push({ sopInstanceUid: row.sopInstanceUid, blobKey: row.blobKey, detail });
      } else {
        counts.bytes += now.size;
        if (now.size !== row.size || now.sha256 !== row.sha256) {
          integrity = 'mismatch';
          detail =
            now.size !== row.size
              ? `size ${now.size}, recorded ${row.size}`
              : 'SHA-256 differs from the recorded digest';
          report.mismatched.push({ sopInstanceUid: row.sopInstanceUid, blobKey: row.blobKey, detail });
        }
      }
      results.push({ id: row.id, integrity });
      if (integrity && row.integrity !== integrity) damaged.push({ row, detail });
      if (!integrity && row.integrity) restored.push(row);
      await paced?.(counts.bytes);
    }
    const at = this.options.clock.now().toISOString();
    await this.index.write((tx) => tx.recordVerification(results, at));
    for (const d of damaged)
      this.options.onDamaged?.({ id: d.row.id, blobKey: d.row.blobKey, detail: d.detail });
    await this.options.audit?.integrity(by, damaged, restored);
    return report;
  }

  /** The instances found damaged (the administration's list), a page at a time; the read is audited. */
  async damaged(afterId: number, limit: number, actor?: Actor, by?: Party): Promise<InstanceRow[]> {
    requirePermission(actor, 'system.read');
    const rows = await this.index.damagedInstances(afterId, Math.min(Math.max(limit, 1), 1000));
    if (by) await this.options.audit?.sent(by, rows, 'accessed');
    return rows;
  }
}

function emptyReport(): VerifyReport {
  return { checked: 0, bytes: 0, mismatched: [], missing: [] };
}

/** The job kind of the background verification pass. */
export const VERIFY_PASS = 'verify-pass';

/** Where a pass is: the last instance id checked, and when the pass began. */
interface PassState {
  readonly afterId: number;
  readonly passStartedAt: string;
}

/**
 * The background verification (storage.verifyDays): one durable job walks the archive in id order, a step at
 * a time (at most 2,000 objects or 1 GB a step, paced to `bytesPerSecond`), saving where it got to, so that
 * a restart or another node goes on from there; at the end it waits until `days` after the pass began and
 * starts again. `schedule` queues it once (its dedupe key keeps it single across processes and restarts).
 */
export function verificationPass(
  verify: VerifyService,
  queue: JobQueue,
  clock: Clock,
  settings: { readonly days: number; readonly bytesPerSecond: number },
): { readonly handler: JobHandler; schedule(): Promise<void> } {
  return {
    async schedule() {
      if (settings.days <= 0) return;
      const first: PassState = { afterId: 0, passStartedAt: clock.now().toISOString() };
      await queue.enqueue({
        kind: VERIFY_PASS,
        payload: { ...first },
        dedupeKey: VERIFY_PASS,
        maxAttempts: 10,
      });
    },
    async handler(job, ctx) {
      if (settings.days <= 0) return; // turned off since it was queued: done
      const p = job.payload as unknown as PassState;
      const r = await verify.step(p.afterId, {
        maxObjects: 2000,
        maxBytes: 1e9,
        bytesPerSecond: settings.bytesPerSecond,
        onProgress: () => ctx.heartbeat(),
      });
      if (r.next !== undefined) {
        const state: PassState = { afterId: r.next, passStartedAt: p.passStartedAt };
        return { again: { payload: { ...state }, runAt: clock.now() } };
      }
      const start = new Date(Date.parse(p.passStartedAt) + settings.days * 86_400_000);
      const next: PassState = { afterId: 0, passStartedAt: start.toISOString() };
      return { again: { payload: { ...next }, runAt: start } };
    },
  };
}
