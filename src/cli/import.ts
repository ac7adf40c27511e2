import { createReadStream } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { isLanternError } from '../core/errors.js';
import type { App } from '../app.js';

export interface ImportReport {
  files: number;
  bytes: number;
  seconds: number;
  stored: number;
  duplicate: number;
  quarantined: { path: string; reason: string }[];
  rejected: { path: string; code: string; reason: string }[];
}

/** Regular files under the given paths, folders walked recursively (symbolic links are not followed). */
export async function* walk(paths: readonly string[]): AsyncGenerator<{ path: string; size: number }> {
  for (const p of paths) {
    const abs = resolve(p);
    const st = await lstat(abs);
    if (st.isFile()) yield { path: abs, size: st.size };
    else if (st.isDirectory()) {
      const dir = await opendir(abs);
      const entries: string[] = [];
      for await (const e of dir) if (e.isFile() || e.isDirectory()) entries.push(e.name);
      entries.sort();
      yield* walk(entries.map((e) => join(abs, e)));
    }
  }
}

/** Imports files and folders through the ingest service, `concurrency` at a time. */
export async function importPaths(
  app: App,
  paths: readonly string[],
  options: { concurrency: number; progress: boolean; source?: string },
): Promise<ImportReport> {
  let totalFiles = 0;
  for await (const _ of walk(paths)) totalFiles++;
  const report: ImportReport = {
    files: 0,
    bytes: 0,
    seconds: 0,
    stored: 0,
    duplicate: 0,
    quarantined: [],
    rejected: [],
  };
  const started = process.hrtime.bigint();
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          format:
            'importing [{bar}] {value}/{total} files | {mb} MB | {rate} MB/s | stored {stored} | present {dup} | quarantined {q} | rejected {rej}',
          noTTYOutput: true,
          notTTYSchedule: 2000,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const tick = () => {
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    bar?.update(report.files, {
      mb: (report.bytes / 1e6).toFixed(1),
      rate: secs > 0 ? (report.bytes / 1e6 / secs).toFixed(1) : '0.0',
      stored: report.stored,
      dup: report.duplicate,
      q: report.quarantined.length,
      rej: report.rejected.length,
    });
  };
  bar?.start(totalFiles, 0, { mb: '0.0', rate: '0.0', stored: 0, dup: 0, q: 0, rej: 0 });

  const imported: { studyUid: string; sopClassUid: string }[] = [];
  const files = walk(paths);
  const worker = async () => {
    for (;;) {
      const next = await files.next();
      if (next.done) return;
      const { path, size } = next.value;
      try {
        const outcome = await app.ingest.ingest({
          chunks: createReadStream(path, { highWaterMark: 256 * 1024 }),
          source: options.source ?? 'import',
        });
        if (outcome.status !== 'quarantined')
          imported.push({ studyUid: outcome.studyUid, sopClassUid: outcome.sopClassUid });
        if (outcome.status === 'stored') report.stored++;
        else if (outcome.status === 'duplicate') report.duplicate++;
        else report.quarantined.push({ path, reason: outcome.reason });
      } catch (e) {
        if (isLanternError(e)) report.rejected.push({ path, code: e.code, reason: e.message });
        else if ((e as NodeJS.ErrnoException).code)
          report.rejected.push({ path, code: 'LNT_STORAGE_FAILED', reason: (e as Error).message });
        else throw e;
      }
      report.files++;
      report.bytes += size;
      tick();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  bar?.stop();
  report.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Import (PS3.15 A.5.3.7): who imported, from where, which patients and studies.
  await app.ingest.recordImported(
    { kind: 'os-user', user: process.env.USER ?? 'lantern' },
    paths,
    imported,
    report.rejected.length,
  );
  return report;
}

export function formatReport(r: ImportReport): string {
  const lines: string[] = [];
  const rate =
    r.seconds > 0
      ? ` (${(r.bytes / 1e6 / r.seconds).toFixed(1)} MB/s, ${(r.files / r.seconds).toFixed(1)} files/s)`
      : '';
  lines.push(
    `Import finished in ${r.seconds.toFixed(1)} s: ${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB${rate}`,
  );
  lines.push(`  stored:          ${r.stored}`);
  lines.push(`  already present: ${r.duplicate}`);
  lines.push(`  quarantined:     ${r.quarantined.length}`);
  for (const q of r.quarantined) lines.push(`    ${q.path}: ${q.reason}`);
  lines.push(`  rejected:        ${r.rejected.length}`);
  for (const x of r.rejected) lines.push(`    ${x.path}: ${x.code} ${x.reason}`);
  return lines.join('\n');
}
