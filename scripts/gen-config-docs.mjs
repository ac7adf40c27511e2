#!/usr/bin/env node
// Writes the settings table of docs/configuration.md (between its settings:begin and settings:end markers) from the
// settings table in the built code (run `npm run build` first), formatted as prettier formats the page.
// test/docs/configuration.test.ts checks that the page holds exactly this table.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { settingsTable } = await import(resolve(root, 'dist/config.js'));
const page = resolve(root, 'docs/configuration.md');
const text = readFileSync(page, 'utf8');
const markers = /(?<=<!-- settings:begin\b[^\n]*-->\n)[\s\S]*?(?=<!-- settings:end -->)/;
if (!markers.test(text))
  throw new Error(`${page} has no <!-- settings:begin --> ... <!-- settings:end --> markers`);
const generated = text.replace(markers, () => `\n${settingsTable()}\n\n`);
const options = { ...(await prettier.resolveConfig(page)), filepath: page };
writeFileSync(page, await prettier.format(generated, options));
