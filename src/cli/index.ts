import { Command } from 'commander';
import { isLanternError } from '../core/errors.js';
import { AssociationError } from '../net/dimse/association.js';
import { VERSION } from '../version.js';
import { aeCommands } from './ae-commands.js';
import { auditCommands } from './audit-commands.js';
import { certCommands } from './cert-commands.js';
import { importCommand } from './import-command.js';
import { patientCommands } from './patient-commands.js';
import { scuCommands } from './scu-commands.js';
import { serveCommand } from './serve-command.js';
import { tokenCommands } from './token-commands.js';
import { userCommands } from './user-commands.js';
import { verifyCommand } from './verify-command.js';
import { viewerCommands } from './viewer-commands.js';

/** The `lantern` program: each command group registers itself, in the order `--help` lists them. */
export function buildCli(): Command {
  const program = new Command();
  program
    .name('lantern')
    .description('Lantern PACS: a DICOM archive with DIMSE and DICOMweb')
    .version(VERSION)
    .showHelpAfterError();
  for (const register of [
    serveCommand,
    importCommand,
    verifyCommand,
    patientCommands,
    scuCommands,
    aeCommands,
    userCommands,
    tokenCommands,
    auditCommands,
    certCommands,
    viewerCommands,
  ])
    register(program);
  return program;
}

export async function run(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    // A peer that cannot be reached or breaks off is not a usage error: exit status 1.
    if (e instanceof AssociationError) {
      process.stderr.write(`lantern: ${e.message}\n`);
      process.exit(1);
    }
    if (isLanternError(e)) {
      process.stderr.write(`lantern: ${e.code}: ${e.message}\n`);
      process.exit(2);
    }
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(
        `lantern: ${(e as Error).message}: choose another port (--dicom-port, --http-port)\n`,
      );
      process.exit(2);
    }
    throw e;
  }
}
