import type { Command } from 'commander';
import { appOptions, type Common, withApp } from './options.js';

/** `lantern audit`: the audit trail's hash chain, verified and checkpointed. */
export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('the audit trail');
  appOptions(
    audit
      .command('verify')
      .description(
        'recompute the hash chain of the audit trail; names the first broken record (exit status 1)',
      ),
  ).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      const r = await app.audit.verify();
      if (r.broken) {
        process.stdout.write(
          `audit record ${r.broken.id} is broken: ${r.broken.reason} (${r.checked} checked)\n`,
        );
        process.exitCode = 1;
      } else process.stdout.write(`${r.checked} audit records, chain intact\n`);
    }),
  );
  appOptions(
    audit
      .command('checkpoint')
      .description(
        'write a signed checkpoint of the audit chain head now (also every 100 records and at stop)',
      ),
  ).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      await app.audit.checkpoint();
      process.stdout.write('checkpoint written\n');
    }),
  );
}
