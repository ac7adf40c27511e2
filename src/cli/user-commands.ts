import type { Command } from 'commander';
import { ROLE_NAMES } from '../core/security/roles.js';
import { appOptions, collect, type Common, withApp } from './options.js';

/** `lantern user`: accounts, for people and services that log in. */
export function userCommands(program: Command): void {
  const user = program.command('user').description('accounts: people and services that log in');
  appOptions(
    user
      .command('add')
      .description('create an account; prints its one-time password (to be changed at the first login)')
      .argument('<login>', 'its login (letters, digits, . _ @ -)')
      .requiredOption('--role <role>', `a role (repeatable): ${ROLE_NAMES.join(', ')}`, collect, [])
      .option('--name <display name>', 'the name shown for it'),
  ).action(async (login: string, opts: Common & { role: string[]; name?: string }) =>
    withApp(opts, async (app) => {
      const roles = opts.role
        .flatMap((r) => r.split(','))
        .map((r) => r.trim())
        .filter(Boolean);
      const r = await app.auth.createAccount({ login, displayName: opts.name, roles });
      process.stdout.write(`${login} created (${roles.join(', ')}); one-time password: ${r.password}\n`);
    }),
  );
  appOptions(user.command('list').description('list accounts')).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      for (const a of await app.auth.listAccounts()) {
        const flags = [a.enabled ? 'enabled' : 'disabled', ...(a.mustChange ? ['must change password'] : [])];
        process.stdout.write(`${a.login.padEnd(24)} ${a.roles.join(',').padEnd(28)} ${flags.join(', ')}\n`);
      }
    }),
  );
  appOptions(
    user
      .command('reset-password')
      .description("set a new one-time password (recovery); ends the account's sessions")
      .argument('<login>'),
  ).action(async (login: string, opts: Common) =>
    withApp(opts, async (app) => {
      process.stdout.write(`one-time password for ${login}: ${await app.auth.resetPassword(login)}\n`);
    }),
  );
  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    appOptions(
      user
        .command(name)
        .description(
          `${name} an account${enabled ? '' : ' (its sessions end at once; its tokens stop working)'}`,
        )
        .argument('<login>'),
    ).action(async (login: string, opts: Common) =>
      withApp(opts, async (app) => {
        await app.auth.updateAccount(login, { enabled });
        process.stdout.write(`${login} ${enabled ? 'enabled' : 'disabled'}\n`);
      }),
    );
  }
}
