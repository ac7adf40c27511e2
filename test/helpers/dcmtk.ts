import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, connect, createServer } from 'node:net';

/** DCMTK's tools are test peers: Nagle's algorithm off for every one we start. */
export const DCMTK_ENV = { ...process.env, TCP_NODELAY: '1' };

/**
 * Runs a DCMTK tool without blocking this process (the archive under test runs in it); killed after a
 * minute so a hung peer fails the test instead of stalling the run.
 */
export function runDcmtk(tool: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { env: DCMTK_ENV });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

export function hasDcmtk(): boolean {
  return spawnSync('dcmdump', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface DumpLine {
  /** Position in the dataset: tags and item numbers, e.g. "00101002/0/00100020". */
  readonly path: string;
  readonly tag: string;
  readonly vr: string;
  /** The printed value: bracket contents for strings, numbers as printed, or a "(...)" note. */
  readonly value: string;
}

const LINE = /^(\s*)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*?)\s+#\s*(\S+),\s*(\d+)\s/;

/**
 * Runs `dcmdump +U8 +L -Un` (values in UTF-8, all of them, UIDs as numbers) and returns the dataset lines
 * (not the meta header), with their nesting paths. Throws with dcmdump's message when it cannot read the file.
 */
export function dcmdump(file: string): DumpLine[] {
  const out = execFileSync('dcmdump', ['+U8', '+L', '-Un', '-q', '-M', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: DumpLine[] = [];
  const stack: string[] = [];
  const itemCounters: number[] = [];
  let inDataset = false;
  for (const raw of out.split('\n')) {
    if (raw.startsWith('# Dicom-Data-Set')) inDataset = true;
    if (!inDataset) continue;
    const m = LINE.exec(raw);
    if (!m) continue;
    const depth = m[1].length / 2;
    const tag = (m[2] + m[3]).toUpperCase();
    const vr = m[4];
    let value = m[5];
    stack.length = depth;
    itemCounters.length = depth + 1;
    if (tag === 'FFFEE000') {
      const n = (itemCounters[depth] = (itemCounters[depth] ?? -1) + 1);
      stack[depth] = String(n);
      continue;
    }
    if (tag.startsWith('FFFE')) continue;
    stack[depth] = tag;
    itemCounters[depth + 1] = -1;
    if (value.startsWith('[')) value = value.slice(1, value.lastIndexOf(']'));
    lines.push({ path: stack.slice(0, depth + 1).join('/'), tag, vr, value });
  }
  return lines;
}

/** A TCP port nothing listens on now (the kernel's choice), for a peer that needs its port on its command line. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a DCMTK server (storescp, dcmqrscp) and resolves once it accepts connections on `port`, so that a
 * loaded machine's slow start cannot fail the test that follows; fails with its output if it exits first.
 */
export async function startDcmtkServer(tool: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(tool, args, { env: DCMTK_ENV });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const until = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${tool} exited with ${child.exitCode}: ${out}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`${tool} did not listen on ${port} within 15 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
