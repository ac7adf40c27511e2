import type { Command } from 'commander';
import { ROLE_NAMES } from '../core/security/roles.js';
import { appOptions, collect, type Common, withApp } from './options.js';

/** `lantern user`: accounts, for people (who log in) and services (which use tokens). */
export function userCommands(program: Command): void {
  const user = program
    .command('user')
    .description('accounts: people, who log in, and services, which act through tokens');
  appOptions(
    user
      .command('add')
      .description(
        "create a person's account and print its one-time password (to be changed at the first login), " +
          'or with --service an account for a machine (no password: it acts only through tokens made for it)',
      )
      .argument('<login>', 'its login (letters, digits, . _ @ -)')
      .requiredOption('--role <role>', `a role (repeatable): ${ROLE_NAMES.join(', ')}`, collect, [])
      .option('--name <display name>', 'the name shown for it')
      .option('--service', 'a service account: cannot log in; `lantern token create` makes its tokens'),
  ).action(async (login: string, opts: Common & { role: string[]; name?: string; service?: boolean }) =>
    withApp(opts, async (app) => {
      const roles = opts.role
        .flatMap((r) => r.split(','))
        .map((r) => r.trim())
        .filter(Boolean);
      const kind = opts.service ? 'service' : 'person';
      const r = await app.auth.createAccount({ login, displayName: opts.name, roles, kind });
      process.stdout.write(
        opts.service
          ? `service account ${login} created (${roles.join(', ')}); make its tokens with lantern token create --user ${login}\n`
          : `${login} created (${roles.join(', ')}); one-time password: ${r.password}\n`,
      );
    }),
  );
  appOptions(user.command('list').description('list accounts')).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      for (const a of await app.auth.listAccounts()) {
        const flags = [
          ...(a.kind === 'service' ? ['service'] : []),
          a.enabled ? 'enabled' : 'disabled',
          ...(a.mustChange ? ['must change password'] : []),
        ];
        process.stdout.write(`${a.login.padEnd(24)} ${a.roles.join(',').padEnd(28)} ${flags.join(', ')}\n`);
      }
    }),
  );
  appOptions(
    user
      .command('reset-password')
      .description(
        "set a new one-time password (recovery); ends the account's sessions and revokes its tokens",
      )
      .argument('<login>'),
  ).action(async (login: string, opts: Common) =>
    withApp(opts, async (app) => {
      process.stdout.write(`one-time password for ${login}: ${await app.auth.resetPassword(login)}\n`);
    }),
  );
  appOptions(
    user
      .command('reset-mfa')
      .description(
        "remove a person's second factor (a lost phone); their sessions end and they enrol again at the next login",
      )
      .argument('<login>'),
  ).action(async (login: string, opts: Common) =>
    withApp(opts, async (app) => {
      const done = await app.auth.resetMfa(login);
      process.stdout.write(done ? `second factor of ${login} removed\n` : `${login} has no second factor\n`);
      process.exitCode = done ? 0 : 1;
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
          `${name} an account${enabled ? '' : ' (its sessions end at once; its tokens are revoked)'}`,
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
