import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, ENVIRONMENT, settingPaths } from '../../src/config.js';

// docs/configuration.md is written by hand (its meanings are prose); this keeps its table true to the code:
// every setting once, with its environment variable and, where the page gives a literal, its default.

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
const rows = [...doc.matchAll(/^\|\s*`([\w.]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|/gm)].map((m) => ({
  setting: m[1],
  variable: m[2].trim().replace(/`/g, ''),
  flag: m[3].trim().replace(/`/g, ''),
  default: m[4].trim(),
}));
const valueOf = (path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], DEFAULTS);

describe('docs/configuration.md', () => {
  it('lists every setting once, and nothing else', () => {
    expect(rows.map((r) => r.setting).sort()).toEqual(settingPaths().sort());
  });
  it('names the environment variable of each setting', () => {
    const variableOf = Object.fromEntries(Object.entries(ENVIRONMENT).map(([v, path]) => [path, v]));
    for (const r of rows) expect(r.variable, r.setting).toBe(variableOf[r.setting] ?? '');
  });
  it('gives the default of each setting as the code has it, where the page gives a literal', () => {
    let checked = 0;
    for (const r of rows) {
      const v = valueOf(r.setting);
      const literal = /^`([^`]*)`$/.exec(r.default)?.[1];
      // Defaults that depend on the machine or on other settings are described in words.
      if (literal === undefined || !['number', 'boolean', 'string'].includes(typeof v)) continue;
      expect(literal, r.setting).toBe(String(v));
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });
});
