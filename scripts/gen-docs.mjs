#!/usr/bin/env node
// Writes the generated tables of the documentation from the built code (run `npm run build` first), each
// between its begin and end markers, formatted as prettier formats the page:
// - docs/configuration.md, settings: the settings table of src/config.ts;
// - docs/conformance.md, services: the presentation contexts accepted, from the DICOM service classes.
// test/docs/*.test.ts check that the pages hold exactly these tables.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { generatedBlocks, replaceBlock } from './doc-blocks.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const { page, name, content } of await generatedBlocks(root)) {
  const file = resolve(root, page);
  const generated = replaceBlock(readFileSync(file, 'utf8'), name, content, file);
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  writeFileSync(file, await prettier.format(generated, options));
}
