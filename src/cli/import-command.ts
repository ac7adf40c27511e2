import type { Command } from 'commander';
import { formatReport, importPaths } from './import.js';
import { appOptions, type Common, int, withApp } from './options.js';

/** `lantern import`: files and folders into the archive, through the ingest service. */
export function importCommand(program: Command): void {
  appOptions(
    program
      .command('import')
      .description('store DICOM files and folders (recursively) into the archive')
      .argument('<path...>', 'files or folders'),
    'data folder (index and stored objects)',
  )
    .option('--concurrency <n>', 'files stored at once (default 8)', int, 8)
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], opts: Common & { concurrency: number; progress: boolean }) =>
      withApp(opts, async (app) => {
        const report = await importPaths(app, paths, {
          concurrency: opts.concurrency,
          progress: opts.progress,
        });
        process.stdout.write(formatReport(report) + '\n');
        process.exitCode = report.rejected.length ? 1 : 0;
      }),
    );
}
