import type { Command } from 'commander';
import { appOptions, type Common, withApp } from './options.js';

/** `lantern verify`: every stored object re-hashed against the index. */
export function verifyCommand(program: Command): void {
  appOptions(
    program
      .command('verify')
      .description('re-hash every stored object against the index; report mismatches and missing files'),
    'data folder (index and stored objects)',
  ).action(async (opts: Common) =>
    withApp(opts, async (app) => {
      const r = await app.verify.run();
      const out = [`Verified ${r.checked} objects, ${(r.bytes / 1e6).toFixed(1)} MB`];
      out.push(`  mismatched: ${r.mismatched.length}`);
      for (const m of r.mismatched) out.push(`    ${m.sopInstanceUid} (${m.blobKey}): ${m.detail}`);
      out.push(`  missing:    ${r.missing.length}`);
      for (const m of r.missing) out.push(`    ${m.sopInstanceUid} (${m.blobKey}): ${m.detail}`);
      process.stdout.write(out.join('\n') + '\n');
      process.exitCode = r.mismatched.length || r.missing.length ? 1 : 0;
    }),
  );
}
