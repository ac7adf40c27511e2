#!/usr/bin/env node
// The `lantern` command: runs the compiled CLI (npm ci builds it through the prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'index.js');
if (!existsSync(entry)) {
  process.stderr.write('lantern: not built yet; run `npm ci` (or `npm run build`) in the checkout first\n');
  process.exit(2);
}
const { run } = await import(pathToFileURL(entry).href);
await run(process.argv);
