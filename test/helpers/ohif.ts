import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * OHIF Viewer v3 as built and published by its authors (the static app in @ohif/app's `dist`), a real client
 * for the end-to-end test. The package cannot be installed as a dependency (one of its dependencies names a
 * version that was never published), so the tarball is fetched once with `npm pack`, checked against the
 * registry's integrity value pinned here, and unpacked under `.cache/`.
 */
export const OHIF_VERSION = '3.13.2';
const INTEGRITY =
  'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

export function ohifViewerDir(): string {
  const cache = join(process.cwd(), '.cache');
  const dir = join(cache, `ohif-app-${OHIF_VERSION}`);
  if (existsSync(join(dir, 'index.html'))) return dir;
  mkdirSync(cache, { recursive: true });
  const out = execFileSync(
    'npm',
    ['pack', `@ohif/app@${OHIF_VERSION}`, '--json', '--pack-destination', cache],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [packed] = JSON.parse(out) as { filename: string; integrity: string }[];
  const tarball = join(cache, packed.filename);
  if (packed.integrity !== INTEGRITY) {
    rmSync(tarball, { force: true });
    throw new Error(`@ohif/app@${OHIF_VERSION} does not match its pinned integrity`);
  }
  const tmp = join(cache, `ohif-unpack-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', tmp]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(join(tmp, 'package', 'dist'), dir);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(tarball, { force: true });
  if (!readdirSync(dir).includes('index.html')) throw new Error('the OHIF package holds no built viewer');
  return dir;
}

/** Debian's Chromium, which the test command installs when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';
