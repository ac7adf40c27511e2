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

/**
 * Packages that only ever run in the browser, bundled into the web app by Vite: their `engines` speak of
 * Node.js, which never runs them (npm ci warns of them, installs them, and the server never loads them).
 * Each is named with the package of the web app that brings it.
 */
const BROWSER_ONLY: Readonly<Record<string, string>> = {
  'node_modules/@cornerstonejs/codec-libjxl':
    '@cornerstonejs/dicom-image-loader (JPEG XL codec, WebAssembly)',
  'node_modules/@cornerstonejs/metadata/node_modules/dcmjs': '@cornerstonejs/metadata',
  'node_modules/@cornerstonejs/utils/node_modules/dcmjs': '@cornerstonejs/utils',
  'node_modules/@cornerstonejs/adapters/node_modules/dcmjs': '@cornerstonejs/adapters',
  // The web app's own copy (measurement reports); the server's tests use the root's dcmjs, on Node 20.
  'web/node_modules/dcmjs': '@lantern/web',
};

describe('install', () => {
  it('every locked package runs on the oldest Node.js package.json accepts, and on this one', () => {
    expect((lock.packages[''] as { engines?: unknown }).engines).toEqual(pkg.engines);
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    expect(semver.major(oldest)).toBe(20);
    const refused: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = !p.engines || Array.isArray(p.engines) ? undefined : p.engines.node;
      if (!path || !range || path in BROWSER_ONLY) continue;
      for (const node of [oldest, process.version])
        if (!semver.satisfies(node, range))
          refused.push(`${path}@${p.version} needs node ${range}, not ${node}`);
    }
    expect(refused).toEqual([]);
  });

  it('the browser-only exceptions are real: each is in the lock, brought by the package named', () => {
    const web = Object.keys((lock.packages['web'] as { dependencies?: object }).dependencies ?? {});
    expect(web).toContain('@cornerstonejs/core');
    for (const [path, by] of Object.entries(BROWSER_ONLY)) {
      expect(lock.packages[path], path).toBeDefined();
      const name = by.split(' ')[0];
      const parent = lock.packages[name === '@lantern/web' ? 'web' : `node_modules/${name}`] as {
        dependencies?: object;
      };
      expect(Object.keys(parent.dependencies ?? {})).toContain(path.split('node_modules/').pop());
    }
  });
});
