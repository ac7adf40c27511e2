import type { Command } from 'commander';
import { isUid } from '../core/dicom/uid.js';
import { ConfigError } from '../core/errors.js';
import type { Party } from '../services/clinical-audit.js';
import { appOptions, type Common, withApp } from './options.js';

/**
 * `lantern verify`: every stored object (or one study's) re-hashed against the index now; what it finds is
 * recorded on each instance, a damaged object is alerted in the audit trail and no longer served.
 */
export function verifyCommand(program: Command): void {
  appOptions(
    program
      .command('verify')
      .description(
        're-hash every stored object (or one study) against the index now; record and report damaged and missing ones',
      )
      .option('--study <uid>', "only this study's objects"),
    'data folder (index and stored objects)',
  ).action(async (opts: Common & { study?: string }) => {
    if (opts.study !== undefined && !isUid(opts.study))
      throw new ConfigError(`--study must be a Study Instance UID, got ${JSON.stringify(opts.study)}`);
    await withApp(opts, async (app) => {
      const by: Party = { kind: 'os-user', user: process.env.USER ?? 'lantern' };
      const r = opts.study
        ? await app.verify.study(opts.study, undefined, by)
        : await app.verify.run(undefined, by);
      const out = [`Verified ${r.checked} objects, ${(r.bytes / 1e6).toFixed(1)} MB`];
      out.push(`  mismatched: ${r.mismatched.length}`);
      for (const m of r.mismatched) out.push(`    ${m.sopInstanceUid} (${m.blobKey}): ${m.detail}`);
      out.push(`  missing:    ${r.missing.length}`);
      for (const m of r.missing) out.push(`    ${m.sopInstanceUid} (${m.blobKey}): ${m.detail}`);
      process.stdout.write(out.join('\n') + '\n');
      process.exitCode = r.mismatched.length || r.missing.length ? 1 : 0;
    });
  });
}
