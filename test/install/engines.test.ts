import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// `npm ci` must install cleanly on the Node.js the project supports: no package in the lock may ask for
// a newer one (npm prints EBADENGINE for it). Packages that moved past Node 20 are held back in
// package.json (an exact version, or an npm override for a dependency of a dependency).

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(resolve(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean }>;
};

describe('install', () => {
  it('every locked package runs on the oldest Node.js package.json accepts, and on this one', () => {
    expect((lock.packages[''] as { engines?: unknown }).engines).toEqual(pkg.engines);
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    expect(semver.major(oldest)).toBe(20);
    const refused: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = !p.engines || Array.isArray(p.engines) ? undefined : p.engines.node;
      if (!path || !range) continue;
      for (const node of [oldest, process.version])
        if (!semver.satisfies(node, range))
          refused.push(`${path}@${p.version} needs node ${range}, not ${node}`);
    }
    expect(refused).toEqual([]);
  });
});
