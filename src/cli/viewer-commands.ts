import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fetchOhifTarball, installOhif, OHIF_VERSION } from '../adapters/viewer-install/ohif.js';
import { appOptions, type Common, configFrom } from './options.js';

/** `lantern viewer install ohif`: an optional viewer served by Lantern on its own origin, with its session. */
export function viewerCommands(program: Command): void {
  const viewer = program
    .command('viewer')
    .description('optional viewers served by Lantern on its own origin');
  appOptions(
    viewer
      .command('install')
      .description(
        `install a viewer: ohif (OHIF Viewer ${OHIF_VERSION}, MPR and 3D), served at /ohif/ to signed-in users after the next start`,
      )
      .argument('<name>', 'ohif')
      .option(
        '--from <tarball>',
        'install from this @ohif/app tarball (offline sites) instead of the npm registry',
      ),
  ).action(async (name: string, opts: Common & { from?: string }) => {
    if (name !== 'ohif') throw new Error(`unknown viewer ${JSON.stringify(name)}: the one offered is ohif`);
    const config = configFrom(opts);
    let tarball = opts.from;
    let fetched: string | undefined;
    if (!tarball) {
      fetched = join(tmpdir(), `lantern-ohif-${process.pid}`);
      tarball = await fetchOhifTarball(fetched);
    }
    try {
      const r = await installOhif(config.dataDir, tarball);
      process.stdout.write(
        `OHIF Viewer ${r.version} installed in ${r.dir}; served at /ohif/ after the next start\n`,
      );
    } finally {
      if (fetched) await rm(fetched, { recursive: true, force: true });
    }
  });
}
