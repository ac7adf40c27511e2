// Debian's Orthanc (with its DICOMweb plugin) as the reference archive of the benchmarks: what a site would
// pick instead of Lantern. Installed with apt-get when missing and running as root, like the test peers.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Orthanc and its DICOMweb plugin are here, installing them when we may; false when they cannot be. */
export function ensureOrthanc() {
  if (has('Orthanc') && existsSync(PLUGIN)) return true;
  if (process.getuid?.() !== 0 || !has('apt-get')) return false;
  execFileSync(
    'apt-get',
    ['install', '-y', '-qq', '--no-install-recommends', 'orthanc', 'orthanc-dicomweb'],
    {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    },
  );
  return has('Orthanc') && existsSync(PLUGIN);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts Orthanc on free ports in a folder of its own, with its defaults otherwise (SQLite index, files
 * synced: `SyncStorageArea` true), TCP_NODELAY=1 in its environment. Returns its ports, a REST helper and
 * stop().
 */
export async function startOrthanc({ aeTitle = 'ORTHANC', modalities = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-orthanc-'));
  const dicomPort = await freePort();
  const httpPort = await freePort();
  writeFileSync(
    join(dir, 'orthanc.json'),
    JSON.stringify({
      Name: 'lantern-bench',
      StorageDirectory: join(dir, 'db'),
      IndexDirectory: join(dir, 'db'),
      DicomAet: aeTitle,
      DicomPort: dicomPort,
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: [PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      DicomModalities: modalities,
    }),
  );
  let stderr = '';
  const proc = spawn('Orthanc', [join(dir, 'orthanc.json')], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (b) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise((r) => proc.once('exit', r));
  const base = `http://127.0.0.1:${httpPort}`;
  const rest = async (method, path, body) => {
    const res = await fetch(base + path, { method, body });
    if (!res.ok) throw new Error(`Orthanc ${method} ${path}: ${res.status}`);
    return res.json();
  };
  const stop = async () => {
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      await rest('GET', '/system');
      break;
    } catch {
      if (proc.exitCode !== null || i > 300) {
        await stop();
        throw new Error(`Orthanc did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { aeTitle, dicomPort, httpPort, base, rest, stop };
}
