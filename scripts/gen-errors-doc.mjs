#!/usr/bin/env node
// Writes the table of docs/errors.md from the error catalogue in the built code (run `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { ERROR_CATALOGUE } = await import(resolve(root, 'dist/core/errors.js'));
const doc = resolve(root, 'docs/errors.md');
const text = readFileSync(doc, 'utf8');
const at = text.search(/^\| code\s*\|/m);
const head = at < 0 ? text : text.slice(0, at);
let table = '| code | HTTP | DIMSE | meaning |\n|---|---|---|---|\n';
for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
  table += `| \`${code}\` | ${e.http} | ${e.dimse.toString(16).toUpperCase().padStart(4, '0')}H | ${e.meaning} |\n`;
}
writeFileSync(doc, head + table);
