import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Command } from 'commander';
import { generate as generateSelfSigned } from 'selfsigned';
import { collect, int } from './options.js';

/** `lantern cert`: TLS certificates for a test setup. */
export function certCommands(program: Command): void {
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
}
