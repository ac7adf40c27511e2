import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OHIF_INTEGRITY, OHIF_VERSION } from '../../src/adapters/viewer-install/ohif.js';

/**
 * OHIF Viewer v3 as built and published by its authors (the static app in @ohif/app's `dist`), a real client
 * for the end-to-end tests. The package cannot be installed as a dependency (one of its dependencies names a
 * version that was never published), so the tarball is fetched once with `npm pack` into `.cache/`, checked
 * against the integrity Lantern pins (src/adapters/viewer-install/ohif.ts), and kept there: the tests install
 * it with `lantern viewer install ohif --from`, and unpack it to serve it from an origin of its own.
 */
export { OHIF_VERSION };

const cache = () => join(process.cwd(), '.cache');

/** The pinned @ohif/app tarball in .cache/, fetched the first time. */
export function ohifTarball(): string {
  const file = join(cache(), `ohif-app-${OHIF_VERSION}.tgz`);
  if (existsSync(file)) return file;
  mkdirSync(cache(), { recursive: true });
  const out = execFileSync(
    'npm',
    ['pack', `@ohif/app@${OHIF_VERSION}`, '--json', '--pack-destination', cache()],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [packed] = JSON.parse(out) as { filename: string; integrity: string }[];
  const tarball = join(cache(), packed.filename);
  if (packed.integrity !== OHIF_INTEGRITY) {
    rmSync(tarball, { force: true });
    throw new Error(`@ohif/app@${OHIF_VERSION} does not match its pinned integrity`);
  }
  renameSync(tarball, file);
  return file;
}

/** The viewer unpacked from the tarball into .cache/ (for serving it from another origin). */
export function ohifViewerDir(): string {
  const dir = join(cache(), `ohif-app-${OHIF_VERSION}`);
  if (existsSync(join(dir, 'index.html'))) return dir;
  const tarball = ohifTarball();
  const tmp = join(cache(), `ohif-unpack-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', tmp]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(join(tmp, 'package', 'dist'), dir);
  rmSync(tmp, { recursive: true, force: true });
  if (!readdirSync(dir).includes('index.html')) throw new Error('the OHIF package holds no built viewer');
  return dir;
}
