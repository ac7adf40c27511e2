import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { LanternError } from '../../core/errors.js';
import type { BlobStore, TempBlob } from '../../ports/blob-store.js';

/** Keys are ours: lowercase letters, digits, '-' and '/' between segments. Anything else is refused. */
const KEY = /^[a-z0-9-]+(\/[a-z0-9-]+)*(\.[a-z0-9]+)?$/;

/**
 * Objects as files under one root folder. A new object is written to `tmp/`, fsynced, renamed to its final
 * name and the folder fsynced, so that a committed object survives a crash.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmpDir: string;
  private readonly knownDirs = new Set<string>();

  constructor(root: string) {
    this.root = resolve(root);
    this.tmpDir = join(this.root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    // Temporary files left by a crash are incomplete by definition.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  path(key: string): string {
    if (!KEY.test(key) || key.includes('..')) throw new LanternError('LNT_INTERNAL', 'invalid storage key');
    const p = join(this.root, key);
    if (!p.startsWith(this.root + sep)) throw new LanternError('LNT_INTERNAL', 'invalid storage key');
    return p;
  }

  async createTemp(): Promise<TempBlob> {
    const tmpPath = join(this.tmpDir, randomUUID());
    let fh: FileHandle | undefined = await open(tmpPath, 'wx', 0o640);
    let length = 0;
    let done = false;
    const store = this;
    return {
      get length() {
        return length;
      },
      async write(chunk: Uint8Array) {
        if (!fh) throw new Error('write after commit or abort');
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
        length += chunk.length;
      },
      async commit(key: string) {
        if (!fh) throw new Error('commit after commit or abort');
        const finalPath = store.path(key);
        try {
          await fh.sync();
          await fh.close();
          fh = undefined;
          const dir = dirname(finalPath);
          await store.ensureDir(dir);
          await rename(tmpPath, finalPath);
          await syncDir(dir);
          done = true;
        } catch (e) {
          throw new LanternError(
            'LNT_STORAGE_FAILED',
            `storage could not make the object durable: ${(e as Error).message}`,
            {
              cause: e,
            },
          );
        }
      },
      async abort() {
        if (done) return;
        done = true;
        await fh?.close().catch(() => undefined);
        fh = undefined;
        await rm(tmpPath, { force: true });
      },
    };
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    // The new folder's own entry must be durable too.
    await syncDir(dirname(dir));
    this.knownDirs.add(dir);
  }

  async *read(key: string, range?: { start: number; end: number }): AsyncIterable<Uint8Array> {
    const stream = createReadStream(this.path(key), {
      start: range?.start,
      end: range ? range.end - 1 : undefined,
      highWaterMark: 256 * 1024,
    });
    for await (const chunk of stream) yield chunk as Buffer;
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
