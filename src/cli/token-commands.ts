import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { appOptions, type Common, withApp } from './options.js';

/** `lantern token`: API tokens for machines and scripts. */
export function tokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description('API tokens (Authorization: Bearer) for machines and scripts');
  appOptions(
    token
      .command('create')
      .description(
        'create an API token for a service account; prints only the token (shown once, stored hashed). ' +
          'A person makes their own tokens in the web app or with POST /api/tokens, confirming their password',
      )
      .requiredOption('--user <login>', 'the service account the token acts as (user add --service)')
      .option('--expires <days>', 'lifetime, e.g. 30d (default and most: security.tokenMaxDays)')
      .option('--name <name>', 'what it is for'),
  ).action(async (opts: Common & { user: string; expires?: string; name?: string }) =>
    withApp(opts, async (app) => {
      let expiresInDays: number | undefined;
      if (opts.expires !== undefined) {
        const m = /^(\d{1,4})d$/.exec(opts.expires);
        if (!m || Number(m[1]) < 1) throw new ConfigError('--expires takes a number of days, e.g. 30d');
        expiresInDays = Number(m[1]);
      }
      const t = await app.auth.createToken(opts.user, { name: opts.name, expiresInDays });
      process.stdout.write(`${t.token}\n`);
    }),
  );
  appOptions(
    token
      .command('list')
      .description("list an account's tokens (never the tokens themselves)")
      .requiredOption('--user <login>', 'the account'),
  ).action(async (opts: Common & { user: string }) =>
    withApp(opts, async (app) => {
      const a = await app.auth.account(opts.user);
      for (const t of await app.auth.tokensOf(a.id)) {
        const end = new Date(app.auth.tokenEnd(t)).toISOString();
        const state = t.revokedAt ? `revoked ${t.revokedAt}` : `ends ${end}`;
        const by = t.createdBy ? `, made by ${t.createdBy}` : '';
        process.stdout.write(
          `${String(t.id).padEnd(6)} ${(t.name || '-').padEnd(24)} created ${t.createdAt}${by}, ${state}\n`,
        );
      }
    }),
  );
  appOptions(
    token
      .command('revoke')
      .description('revoke a token at once')
      .argument('<id>', 'its number (token list)')
      .requiredOption('--user <login>', 'the account'),
  ).action(async (id: string, opts: Common & { user: string }) =>
    withApp(opts, async (app) => {
      const a = await app.auth.account(opts.user);
      const ok = await app.auth.revokeToken(a.id, Number(id));
      process.stdout.write(ok ? `token ${id} revoked\n` : `no active token ${id} for ${opts.user}\n`);
      process.exitCode = ok ? 0 : 1;
    }),
  );
}
