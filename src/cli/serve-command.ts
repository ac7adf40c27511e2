import type { Command } from 'commander';
import { serve } from '../main.js';
import { type Common, configFrom, int } from './options.js';

/** `lantern serve`: the archive's servers, in the foreground. */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'start the archive: DICOM (echo, store, find, move, get, storage commitment) and HTTP (DICOMweb under /dicom-web: QIDO-RS, WADO-RS with frames, rendered and thumbnails, STOW-RS; WADO-URI at /wado; /healthz)',
    )
    .option('--data <dir>', 'data folder (index and stored objects)', undefined)
    .option('--dicom-port <n>', 'DICOM port (default 11112)', int)
    .option('--http-port <n>', 'HTTP port (default 8080)', int)
    .option('--aet <title>', 'our AE title (default LANTERN)')
    .option(
      '--dicom-tls-port <n>',
      'DICOM TLS port (default 2762; on when dicom.tlsCert and dicom.tlsKey are set)',
      int,
    )
    .option('--config <file>', 'JSON configuration file (LANTERN_* environment variables override it)')
    .action(
      async (
        opts: Common & { dicomPort?: number; httpPort?: number; aet?: string; dicomTlsPort?: number },
      ) => {
        const config = configFrom(opts, {
          'dicom.port': opts.dicomPort,
          'http.port': opts.httpPort,
          'dicom.aeTitle': opts.aet,
          'dicom.tlsPort': opts.dicomTlsPort,
        });
        // First start: the administrator's one-time password, shown once, here only.
        await serve(config, (password) =>
          process.stdout.write(
            `\nFirst start: account "admin" (administrator) created.\n` +
              `One-time password: ${password}\n` +
              `It is shown only now and must be changed at the first login. Lost: lantern user reset-password admin\n\n`,
          ),
        );
      },
    );
}
