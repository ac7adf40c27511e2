import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const text = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
const LAYERS = ['core', 'ports', 'net', 'services', 'adapters', 'servers', 'cli'];

/** The code paths the page names in backticks: `src/...`, `test/...`, `scripts/...`, or a layer's own path. */
function namedPaths(): string[] {
  const out = new Set<string>();
  for (const [, p] of text.matchAll(/`([a-z0-9_./-]+\.(?:ts|mjs|js))`/g)) {
    if (/^(src|test|scripts)\//.test(p)) out.add(p);
    else if (LAYERS.includes(p.split('/')[0])) out.add(`src/${p}`);
  }
  return [...out];
}

describe('docs/architecture.md', () => {
  it('names only files that exist', () => {
    const paths = namedPaths();
    expect(paths.length).toBeGreaterThan(40);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it('lists every port', () => {
    const ports = readdirSync(join(root, 'src/ports')).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(ports.length).toBeGreaterThan(5);
    expect(ports.filter((f) => !text.includes(`\`${f}\``))).toEqual([]);
  });
});
