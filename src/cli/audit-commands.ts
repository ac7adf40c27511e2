import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { appOptions, type Common, withApp } from './options.js';

/** `lantern audit`: the audit trail's hash chain, verified and checkpointed. */
export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('the audit trail');
  appOptions(
    audit
      .command('verify')
      .description(
        'recompute the hash chain of the audit trail, every record against its columns, and the signed ' +
          'checkpoints; names the first broken record (exit status 1)',
      )
      .option(
        '--public-key <file>',
        "verify the checkpoints with this copy of the public key (an external witness's), not the key file's",
      ),
  ).action(async (opts: Common & { publicKey?: string }) =>
    withApp(opts, async (app) => {
      let publicKeyPem: string | undefined;
      if (opts.publicKey) {
        try {
          publicKeyPem = readFileSync(opts.publicKey, 'utf8');
        } catch (e) {
          throw new ConfigError(`--public-key: cannot read ${opts.publicKey}: ${(e as Error).message}`);
        }
      }
      const r = await app.audit.verify({ publicKeyPem });
      if (r.broken) {
        process.stdout.write(
          `audit record ${r.broken.id} is broken: ${r.broken.reason} (${r.checked} checked)\n`,
        );
        process.exitCode = 1;
      } else {
        const tail = r.unwitnessed
          ? `; the last ${r.unwitnessed} written within the checkpoint interval, not yet checkpointed`
          : '';
        process.stdout.write(`${r.checked} audit records, chain intact${tail}\n`);
      }
    }),
  );
  appOptions(
    audit
      .command('key')
      .description(
        'print the public key that verifies the signed checkpoints (PEM), for an external witness to keep',
      ),
  ).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      process.stdout.write(app.audit.publicKey() ?? '');
    }),
  );
  appOptions(
    audit
      .command('checkpoint')
      .description(
        'write a signed checkpoint of the audit chain head now (also every audit.checkpointEvery records, ' +
          'every audit.checkpointMinutes minutes, and at stop)',
      ),
  ).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      await app.audit.checkpoint();
      process.stdout.write('checkpoint written\n');
    }),
  );
}
