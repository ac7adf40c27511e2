import type { Command } from 'commander';
import type { AeRecord } from '../ports/ae-store.js';
import { PERMISSIONS } from '../services/ae-registry.js';
import { appOptions, type Common, int, withApp } from './options.js';

function formatAe(a: AeRecord): string {
  return `host ${a.host || '(any)'} port ${a.port || '-'}${a.tls ? ' tls' : ''} allow ${a.permissions.join(',') || '(nothing)'} mode ${a.mode}${a.certSha256 ? ` certificate ${a.certSha256.slice(0, 16)}…` : ''}`;
}

/** What a registration leaves open, said where the registry is listed. */
function warnings(a: AeRecord): string[] {
  const w: string[] = [];
  if (!a.host && !a.certSha256)
    w.push('no --host and no certificate: anyone on the network who uses this title is this peer');
  if (a.mode === 'device' && a.permissions.some((p) => p === 'find' || p === 'get' || p === 'move'))
    w.push('a device that may query or retrieve: patient names and IDs go to whoever uses this title');
  return w;
}

/** `lantern ae`: the AE registry, the DICOM peers that may associate. */
export function aeCommands(program: Command): void {
  const ae = program
    .command('ae')
    .description('the AE registry: the DICOM peers that may associate, and what they may do');
  appOptions(
    ae
      .command('add')
      .description('register a peer (or change one); takes effect in a running server at once')
      .argument('<aet>', 'its AE title')
      .option('--host <host>', 'host name or address it calls from and listens on (any when unset)', '')
      .option('--port <n>', 'port it listens on (C-MOVE destinations)', int, 0)
      .option(
        '--allow <list>',
        `comma-separated permissions: ${PERMISSIONS.join(', ')} (default: store,find,get,move, and destination when --host and --port are given)`,
      )
      .option('--tls', 'it speaks DICOM over TLS')
      .option(
        '--mode <mode>',
        "device (a modality, a router: its grants stand) or people (a workstation: every association carries a user identity and the person's role applies); default: people when it may find, get or move, else device",
      )
      .option(
        '--cert-sha256 <hex>',
        'bind the TLS client certificate with this SHA-256 fingerprint to the title (openssl x509 -noout -fingerprint -sha256)',
      ),
  ).action(
    async (
      aet: string,
      opts: Common & {
        host: string;
        port: number;
        allow?: string;
        tls?: boolean;
        mode?: string;
        certSha256?: string;
      },
    ) =>
      withApp(opts, async (app) => {
        const rec = await app.aes.add({
          aeTitle: aet,
          host: opts.host,
          port: opts.port,
          tls: opts.tls,
          mode: opts.mode,
          certSha256: opts.certSha256,
          permissions: opts.allow
            ?.split(',')
            .map((p) => p.trim())
            .filter(Boolean),
        });
        process.stdout.write(`${rec.aeTitle} registered: ${formatAe(rec)}\n`);
        for (const w of warnings(rec)) process.stderr.write(`warning: ${rec.aeTitle}: ${w}\n`);
      }),
  );
  appOptions(ae.command('list').description('list registered peers')).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      const list = await app.aes.list();
      if (!list.length) process.stdout.write('no AEs registered\n');
      for (const a of list) {
        process.stdout.write(`${a.aeTitle.padEnd(16)} ${formatAe(a)}\n`);
        for (const w of warnings(a)) process.stdout.write(`${''.padEnd(16)} warning: ${w}\n`);
      }
    }),
  );
  appOptions(
    ae
      .command('remove')
      .description('remove a peer; takes effect in a running server at once')
      .argument('<aet>', 'its AE title'),
  ).action(async (aet: string, opts: Common) =>
    withApp(opts, async (app) => {
      const removed = await app.aes.remove(aet);
      process.stdout.write(removed ? `${aet} removed\n` : `${aet} was not registered\n`);
      process.exitCode = removed ? 0 : 1;
    }),
  );
}
