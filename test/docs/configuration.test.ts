import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, settingDocs, settingPaths, settingsTable } from '../../src/config.js';

// The settings table of docs/configuration.md is generated from the settings table in src/config.ts
// (`npm run build && npm run gen:docs`); this keeps the page from drifting from the code.

const page = resolve(import.meta.dirname, '../../docs/configuration.md');
const doc = readFileSync(page, 'utf8');
// As scripts/gen-docs.mjs does it.
const markers = /(?<=<!-- settings:begin\b[^\n]*-->\n)[\s\S]*?(?=<!-- settings:end -->)/;
const valueOf = (path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], DEFAULTS);

describe('docs/configuration.md', () => {
  it('holds the settings table generated from the code (npm run build && npm run gen:docs)', async () => {
    expect(doc).toMatch(markers);
    const generated = doc.replace(markers, () => `\n${settingsTable()}\n\n`);
    const formatted = await prettier.format(generated, {
      ...(await prettier.resolveConfig(page)),
      filepath: page,
    });
    expect(doc).toBe(formatted);
  });
  it('describes every setting once', () => {
    const docs = settingDocs();
    expect(docs.map((d) => d.setting)).toEqual(settingPaths());
    for (const d of docs) expect(d.meaning.trim(), d.setting).not.toBe('');
  });
  it('gives as the default of each setting the value the code has, where it shows a literal', () => {
    let checked = 0;
    for (const d of settingDocs()) {
      const v = valueOf(d.setting);
      const literal = /^`([^`]*)`$/.exec(d.default)?.[1];
      // Defaults that depend on the machine or on other settings are described in words.
      if (literal === undefined || !['number', 'boolean', 'string'].includes(typeof v)) continue;
      expect(literal, d.setting).toBe(String(v));
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });
});
