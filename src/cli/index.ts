import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { generate as generateSelfSigned } from 'selfsigned';
import { loadConfig } from '../config.js';
import { ConfigError, isLanternError } from '../core/errors.js';
import { createApp, serve } from '../main.js';
import type { AeRecord } from '../ports/index.js';
import { AssociationError } from '../net/dimse/association.js';
import { ROLE_NAMES } from '../core/security/roles.js';
import { PERMISSIONS } from '../services/ae-registry.js';
import { VERSION } from '../version.js';
import { formatReport, importPaths } from './import.js';
import { echoScu, findScu, getScu, moveScu, storeScu } from './scu.js';

const int = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};

interface Common {
  data?: string;
  config?: string;
}

function configFrom(opts: Common, flags: Record<string, unknown> = {}) {
  return loadConfig({ file: opts.config, flags: { dataDir: opts.data, ...flags } });
}

export function buildCli(): Command {
  const program = new Command();
  program
    .name('lantern')
    .description('Lantern PACS: a DICOM archive with DIMSE and DICOMweb')
    .version(VERSION)
    .showHelpAfterError();

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

  program
    .command('import')
    .description('store DICOM files and folders (recursively) into the archive')
    .argument('<path...>', 'files or folders')
    .option('--data <dir>', 'data folder (index and stored objects)')
    .option('--config <file>', 'JSON configuration file')
    .option('--concurrency <n>', 'files stored at once (default 8)', int, 8)
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], opts: Common & { concurrency: number; progress: boolean }) => {
      const app = await createApp(configFrom(opts));
      try {
        const report = await importPaths(app, paths, {
          concurrency: opts.concurrency,
          progress: opts.progress,
        });
        process.stdout.write(formatReport(report) + '\n');
        process.exitCode = report.rejected.length ? 1 : 0;
      } finally {
        await app.close();
      }
    });

  program
    .command('verify')
    .description('re-hash every stored object against the index; report mismatches and missing files')
    .option('--data <dir>', 'data folder (index and stored objects)')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common) => {
      const app = await createApp(configFrom(opts));
      try {
        const r = await app.verify.run();
        const out = [`Verified ${r.checked} objects, ${(r.bytes / 1e6).toFixed(1)} MB`];
        out.push(`  mismatched: ${r.mismatched.length}`);
        for (const m of r.mismatched) out.push(`    ${m.sopInstanceUid} (${m.blobKey}): ${m.detail}`);
        out.push(`  missing:    ${r.missing.length}`);
        for (const m of r.missing) out.push(`    ${m.sopInstanceUid} (${m.blobKey}): ${m.detail}`);
        process.stdout.write(out.join('\n') + '\n');
        process.exitCode = r.mismatched.length || r.missing.length ? 1 : 0;
      } finally {
        await app.close();
      }
    });

  const peerOptions = (c: Command) =>
    c
      .argument('<host>', 'peer host')
      .argument('<port>', 'peer port', int)
      .option('--aet <title>', 'our (calling) AE title', 'LANTERN')
      .option('--aec <title>', "the peer's (called) AE title", 'ANY-SCP');
  const peerOf = (host: string, port: number, o: { aet: string; aec: string }) => ({
    host,
    port,
    aet: o.aet,
    aec: o.aec,
  });

  peerOptions(program.command('echo').description('C-ECHO a DICOM peer')).action(
    async (host: string, port: number, o: { aet: string; aec: string }) => {
      process.exitCode = (await echoScu(peerOf(host, port, o))) ? 0 : 1;
    },
  );
  peerOptions(
    program
      .command('store')
      .description(
        'C-STORE files and folders (recursively) to a DICOM peer, each in its own transfer syntax',
      ),
  )
    .argument('<path...>', 'files or folders')
    .action(async (host: string, port: number, paths: string[], o: { aet: string; aec: string }) => {
      process.exitCode = (await storeScu(peerOf(host, port, o), paths)) ? 1 : 0;
    });
  peerOptions(
    program
      .command('find')
      .description('C-FIND on a DICOM peer; prints each match as DICOM JSON, one per line'),
  )
    .option('--model <m>', 'information model: patient or study', 'study')
    .option('--level <l>', 'PATIENT, STUDY, SERIES or IMAGE', 'STUDY')
    .option(
      '-k, --key <key=value>',
      'a matching or return key, e.g. PatientName=SMITH* or StudyInstanceUID',
      collect,
      [],
    )
    .action(
      async (
        host: string,
        port: number,
        o: { aet: string; aec: string; model: string; level: string; key: string[] },
      ) => {
        const status = await findScu(peerOf(host, port, o), o.model, o.level.toUpperCase(), o.key);
        process.exitCode = status === 0 ? 0 : 1;
      },
    );
  peerOptions(program.command('move').description('C-MOVE from a DICOM peer to a destination AE'))
    .requiredOption('--dest <title>', 'move destination AE title')
    .option('--model <m>', 'information model: patient or study', 'study')
    .option('--level <l>', 'PATIENT, STUDY, SERIES or IMAGE', 'STUDY')
    .option('-k, --key <key=value>', 'a key, e.g. StudyInstanceUID=1.2.3', collect, [])
    .action(
      async (
        host: string,
        port: number,
        o: { aet: string; aec: string; model: string; level: string; dest: string; key: string[] },
      ) => {
        const status = await moveScu(peerOf(host, port, o), o.model, o.level.toUpperCase(), o.dest, o.key);
        process.exitCode = status === 0 ? 0 : 1;
      },
    );

  peerOptions(
    program.command('get').description('C-GET from a DICOM peer; the instances are written to --out'),
  )
    .requiredOption('--out <dir>', 'folder for the received files')
    .option('--model <m>', 'information model: patient or study', 'study')
    .option('--level <l>', 'PATIENT, STUDY, SERIES or IMAGE', 'STUDY')
    .option('-k, --key <key=value>', 'a key, e.g. StudyInstanceUID=1.2.3', collect, [])
    .action(
      async (
        host: string,
        port: number,
        o: { aet: string; aec: string; model: string; level: string; out: string; key: string[] },
      ) => {
        const status = await getScu(peerOf(host, port, o), o.model, o.level.toUpperCase(), o.out, o.key);
        process.exitCode = status === 0 ? 0 : 1;
      },
    );

  const ae = program
    .command('ae')
    .description('the AE registry: the DICOM peers that may associate, and what they may do');
  ae.command('add')
    .description('register a peer (or change one); takes effect in a running server at once')
    .argument('<aet>', 'its AE title')
    .option('--host <host>', 'host name or address it calls from and listens on (any when unset)', '')
    .option('--port <n>', 'port it listens on (C-MOVE destinations)', int, 0)
    .option(
      '--allow <list>',
      `comma-separated permissions: ${PERMISSIONS.join(', ')} (default: store,find,get,move, and destination when --host and --port are given)`,
    )
    .option('--tls', 'it speaks DICOM over TLS')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(
      async (aet: string, opts: Common & { host: string; port: number; allow?: string; tls?: boolean }) => {
        const app = await createApp(configFrom(opts));
        try {
          const rec = await app.aes.add({
            aeTitle: aet,
            host: opts.host,
            port: opts.port,
            tls: opts.tls,
            permissions: opts.allow
              ?.split(',')
              .map((p) => p.trim())
              .filter(Boolean),
          });
          process.stdout.write(`${rec.aeTitle} registered: ${formatAe(rec)}\n`);
        } finally {
          await app.close();
        }
      },
    );
  ae.command('list')
    .description('list registered peers')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common) => {
      const app = await createApp(configFrom(opts));
      try {
        const list = await app.aes.list();
        if (!list.length) process.stdout.write('no AEs registered\n');
        for (const a of list) process.stdout.write(`${a.aeTitle.padEnd(16)} ${formatAe(a)}\n`);
      } finally {
        await app.close();
      }
    });
  ae.command('remove')
    .description('remove a peer; takes effect in a running server at once')
    .argument('<aet>', 'its AE title')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (aet: string, opts: Common) => {
      const app = await createApp(configFrom(opts));
      try {
        const removed = await app.aes.remove(aet);
        process.stdout.write(removed ? `${aet} removed\n` : `${aet} was not registered\n`);
        process.exitCode = removed ? 0 : 1;
      } finally {
        await app.close();
      }
    });

  const withApp = async <T>(opts: Common, fn: (app: Awaited<ReturnType<typeof createApp>>) => Promise<T>) => {
    const app = await createApp(configFrom(opts));
    try {
      return await fn(app);
    } finally {
      await app.close();
    }
  };
  const user = program.command('user').description('accounts: people and services that log in');
  user
    .command('add')
    .description('create an account; prints its one-time password (to be changed at the first login)')
    .argument('<login>', 'its login (letters, digits, . _ @ -)')
    .requiredOption('--role <role>', `a role (repeatable): ${ROLE_NAMES.join(', ')}`, collect, [])
    .option('--name <display name>', 'the name shown for it')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (login: string, opts: Common & { role: string[]; name?: string }) =>
      withApp(opts, async (app) => {
        const roles = opts.role
          .flatMap((r) => r.split(','))
          .map((r) => r.trim())
          .filter(Boolean);
        const r = await app.auth.createAccount({ login, displayName: opts.name, roles });
        process.stdout.write(`${login} created (${roles.join(', ')}); one-time password: ${r.password}\n`);
      }),
    );
  user
    .command('list')
    .description('list accounts')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common) =>
      withApp(opts, async (app) => {
        for (const a of await app.auth.listAccounts()) {
          const flags = [
            a.enabled ? 'enabled' : 'disabled',
            ...(a.mustChange ? ['must change password'] : []),
          ];
          process.stdout.write(`${a.login.padEnd(24)} ${a.roles.join(',').padEnd(28)} ${flags.join(', ')}\n`);
        }
      }),
    );
  user
    .command('reset-password')
    .description("set a new one-time password (recovery); ends the account's sessions")
    .argument('<login>')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (login: string, opts: Common) =>
      withApp(opts, async (app) => {
        process.stdout.write(`one-time password for ${login}: ${await app.auth.resetPassword(login)}\n`);
      }),
    );
  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    user
      .command(name)
      .description(
        `${name} an account${enabled ? '' : ' (its sessions end at once; its tokens stop working)'}`,
      )
      .argument('<login>')
      .option('--data <dir>', 'data folder')
      .option('--config <file>', 'JSON configuration file')
      .action(async (login: string, opts: Common) =>
        withApp(opts, async (app) => {
          await app.auth.updateAccount(login, { enabled });
          process.stdout.write(`${login} ${enabled ? 'enabled' : 'disabled'}\n`);
        }),
      );
  }
  const token = program
    .command('token')
    .description('API tokens (Authorization: Bearer) for machines and scripts');
  token
    .command('create')
    .description('create an API token for an account; prints only the token (shown once, stored hashed)')
    .requiredOption('--user <login>', 'the account the token acts as')
    .option('--expires <days>', 'lifetime, e.g. 30d (default: until revoked)')
    .option('--name <name>', 'what it is for')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common & { user: string; expires?: string; name?: string }) =>
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
  token
    .command('list')
    .description("list an account's tokens (never the tokens themselves)")
    .requiredOption('--user <login>', 'the account')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common & { user: string }) =>
      withApp(opts, async (app) => {
        const a = await app.auth.account(opts.user);
        for (const t of await app.auth.tokensOf(a.id)) {
          const state = t.revokedAt
            ? `revoked ${t.revokedAt}`
            : t.expiresAt
              ? `expires ${t.expiresAt}`
              : 'no expiry';
          process.stdout.write(
            `${String(t.id).padEnd(6)} ${(t.name || '-').padEnd(24)} created ${t.createdAt}, ${state}\n`,
          );
        }
      }),
    );
  token
    .command('revoke')
    .description('revoke a token at once')
    .argument('<id>', 'its number (token list)')
    .requiredOption('--user <login>', 'the account')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (id: string, opts: Common & { user: string }) =>
      withApp(opts, async (app) => {
        const a = await app.auth.account(opts.user);
        const ok = await app.auth.revokeToken(a.id, Number(id));
        process.stdout.write(ok ? `token ${id} revoked\n` : `no active token ${id} for ${opts.user}\n`);
        process.exitCode = ok ? 0 : 1;
      }),
    );

  const audit = program.command('audit').description('the audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain of the audit trail; names the first broken record (exit status 1)')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common) =>
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

  audit
    .command('checkpoint')
    .description('write a signed checkpoint of the audit chain head now (also every 100 records and at stop)')
    .option('--data <dir>', 'data folder')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: Common) =>
      withApp(opts, async (app) => {
        await app.audit.checkpoint();
        process.stdout.write('checkpoint written\n');
      }),
    );

  const cert = program.command('cert').description('TLS certificates');
  cert
    .command('self-signed')
    .description('make a self-signed certificate and key for a test setup (HTTPS and DICOM TLS)')
    .option('--out <dir>', 'where to write lantern.crt and lantern.key', '.')
    .option('--name <host>', 'a host name or address it is for (repeatable)', collect, [])
    .option('--days <n>', 'validity in days', int, 365)
    .action(async (opts: { out: string; name: string[]; days: number }) => {
      const names = opts.name.length ? opts.name : ['localhost', '127.0.0.1'];
      const pems = await generateSelfSigned([{ name: 'commonName', value: names[0] }], {
        keySize: 2048,
        algorithm: 'sha256',
        notAfterDate: new Date(Date.now() + opts.days * 86_400_000),
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
          {
            name: 'subjectAltName',
            altNames: names.map((n) =>
              isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n },
            ),
          },
        ],
      });
      mkdirSync(opts.out, { recursive: true });
      const crt = join(opts.out, 'lantern.crt');
      const key = join(opts.out, 'lantern.key');
      writeFileSync(key, pems.private, { mode: 0o600 });
      writeFileSync(crt, pems.cert);
      process.stdout.write(
        `${crt}\n${key}\nfor ${names.join(', ')}, ${opts.days} days; use with http.tlsCert and http.tlsKey ` +
          '(DICOM TLS uses them too unless dicom.tlsCert/dicom.tlsKey are set). For tests only: clients must be told to trust it.\n',
      );
    });

  return program;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function formatAe(a: AeRecord): string {
  return `host ${a.host || '(any)'} port ${a.port || '-'}${a.tls ? ' tls' : ''} allow ${a.permissions.join(',') || '(nothing)'}`;
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
