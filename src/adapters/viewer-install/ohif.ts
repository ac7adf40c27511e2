import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../../core/errors.js';

const run = promisify(execFile);

/**
 * OHIF Viewer v3 as its authors build and publish it (the static app in `@ohif/app`'s `dist`), pinned: the
 * version and the registry's integrity value of its tarball. A tarball that does not match is refused.
 */
export const OHIF_VERSION = '3.13.2';
export const OHIF_INTEGRITY =
  'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

/**
 * OHIF's app configuration, written here so that its one data source is this Lantern, on this origin: the
 * browser sends the session cookie with every request, so OHIF reads as the person signed in.
 */
export const OHIF_APP_CONFIG = `window.config = {
  routerBasename: '/ohif',
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'lantern',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'lantern',
      configuration: {
        friendlyName: 'Lantern',
        name: 'lantern',
        wadoUriRoot: window.location.origin + '/wado',
        qidoRoot: window.location.origin + '/dicom-web',
        wadoRoot: window.location.origin + '/dicom-web',
        qidoSupportsIncludeField: true,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: true,
        supportsWildcard: true,
        staticWado: false,
        singlepart: 'bulkdata,video',
        bulkDataURI: { enabled: true },
        omitQuotationForMultipartRequest: true,
      },
    },
  ],
};
`;

/** Where an installed viewer lives in the data folder. */
export function viewerDir(dataDir: string, name: 'ohif'): string {
  return join(dataDir, 'viewers', name);
}

/** The Subresource Integrity value (sha512-base64) of a file. */
export async function integrityOf(file: string): Promise<string> {
  const h = createHash('sha512');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return `sha512-${h.digest('base64')}`;
}

/** Fetches the pinned tarball from the npm registry (`npm pack`) into `dir`; its path. */
export async function fetchOhifTarball(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const { stdout } = await run(
    'npm',
    ['pack', `@ohif/app@${OHIF_VERSION}`, '--json', '--pack-destination', dir],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  return join(dir, packed.filename);
}

/**
 * Moves a published OHIF build from `/` to `base`: webpack's public path in each bundle (where it loads its
 * chunks and workers from) and the absolute URLs in its style sheets. The page itself is rewritten when it is
 * served (servers/http/web/ohif.ts). A build without the public path where this release has it is refused.
 */
async function relocate(dist: string, base: string): Promise<void> {
  let app = 0;
  for (const name of await readdir(dist)) {
    const file = join(dist, name);
    if (name.endsWith('.js')) {
      const js = await readFile(file, 'utf8');
      const moved = js.replaceAll('__webpack_require__.p = "/";', `__webpack_require__.p = "${base}";`);
      if (moved !== js) {
        if (name.startsWith('app.bundle.')) app++;
        await writeFile(file, moved);
      }
    } else if (name.endsWith('.css')) {
      const css = await readFile(file, 'utf8');
      const moved = css.replace(/url\(\/(?!\/)/g, `url(${base}`);
      if (moved !== css) await writeFile(file, moved);
    }
  }
  if (app !== 1)
    throw new ConfigError('this OHIF build does not set its public path as 3.13.2 does: not installed');
}

/**
 * Installs OHIF from its tarball into `<dataDir>/viewers/ohif`: the integrity checked against the pinned
 * value, unpacked beside the target and moved into place whole (a failed install leaves the previous one).
 */
export async function installOhif(
  dataDir: string,
  tarball: string,
): Promise<{ dir: string; version: string }> {
  if (!existsSync(tarball)) throw new ConfigError(`${tarball}: no such file`);
  const integrity = await integrityOf(tarball);
  if (integrity !== OHIF_INTEGRITY)
    throw new ConfigError(
      `${tarball} is not @ohif/app ${OHIF_VERSION} as published (integrity ${integrity.slice(0, 24)}..., expected ${OHIF_INTEGRITY.slice(0, 24)}...)`,
    );
  const target = viewerDir(dataDir, 'ohif');
  await mkdir(join(dataDir, 'viewers'), { recursive: true });
  const work = await mkdtemp(join(dataDir, 'viewers', '.ohif-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', work, '--no-same-owner', '--no-same-permissions']);
    const dist = join(work, 'package', 'dist');
    if (!existsSync(join(dist, 'index.html'))) throw new ConfigError(`${tarball} holds no built viewer`);
    await relocate(dist, '/ohif/');
    await writeFile(join(dist, 'app-config.js'), OHIF_APP_CONFIG);
    await writeFile(
      join(dist, 'lantern-install.json'),
      JSON.stringify({ name: '@ohif/app', version: OHIF_VERSION, integrity }, null, 2),
    );
    const old = `${target}.old`;
    await rm(old, { recursive: true, force: true });
    if (existsSync(target)) await rename(target, old);
    await rename(dist, target);
    await rm(old, { recursive: true, force: true });
    return { dir: target, version: OHIF_VERSION };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The installed viewer's files (for checks): every name in its folder, or [] when not installed. */
export async function installedFiles(dataDir: string): Promise<string[]> {
  const dir = viewerDir(dataDir, 'ohif');
  return existsSync(dir) ? readdir(dir) : [];
}
