import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './dcmtk.js';

/** Debian's Orthanc, run as a second archive for the tests (a real peer, not a mock). */
export interface TestOrthanc {
  readonly aeTitle: string;
  readonly dicomPort: number;
  readonly httpPort: number;
  /** GET on its REST API, as JSON. */
  get(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts Orthanc on free ports with a folder of its own. `modalities` are the DICOM peers it knows (by AE
 * title, with their address), as its DicomModalities setting: it reports storage commitment only to those.
 */
export async function startOrthanc(
  modalities: readonly { readonly aeTitle: string; readonly host: string; readonly port: number }[] = [],
  aeTitle = 'ORTHANC',
): Promise<TestOrthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'lantern-orthanc-'));
  const dicomPort = await freePort();
  const httpPort = await freePort();
  writeFileSync(
    join(dir, 'orthanc.json'),
    JSON.stringify({
      Name: 'lantern-test',
      StorageDirectory: join(dir, 'db'),
      IndexDirectory: join(dir, 'db'),
      DicomAet: aeTitle,
      DicomPort: dicomPort,
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: [],
      DicomModalities: Object.fromEntries(
        modalities.map((m, i) => [`peer${i}`, { AET: m.aeTitle, Host: m.host, Port: m.port }]),
      ),
    }),
  );
  let stderr = '';
  const proc: ChildProcess = spawn('Orthanc', [join(dir, 'orthanc.json')], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const base = `http://127.0.0.1:${httpPort}`;
  const get = async (path: string) => {
    const res = await fetch(base + path);
    if (!res.ok) throw new Error(`Orthanc GET ${path}: ${res.status}`);
    return res.json() as Promise<unknown>;
  };
  const stop = async () => {
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      await get('/system');
      break;
    } catch {
      if (proc.exitCode !== null || i > 150) {
        await stop();
        throw new Error(`Orthanc did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { aeTitle, dicomPort, httpPort, get, stop };
}
