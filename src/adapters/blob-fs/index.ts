import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, type FileHandle, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { LanternError } from '../../core/errors.js';
import { isNodeId } from '../../core/node/node-id.js';
import type { ReadBuffers } from '../../core/buffers/pool.js';
import type { BlobStore, TempBlob } from '../../ports/blob-store.js';
import { CoalescedSync, fsyncPath } from '../fs-sync/index.js';

/** Folders whose descriptors stay open for syncing (objects and quarantine use 256 each). */
const MAX_DIR_HANDLES = 1024;
/** Bytes asked for by each read of a stored object. */
const READ_CHUNK = 1024 * 1024;
/** Keys are ours: lowercase letters, digits, '-' and '/' between segments. Anything else is refused. */
const KEY = /^[a-z0-9-]+(\/[a-z0-9-]+)*(\.[a-z0-9]+)?$/;
/** Another node's temporary files younger than this may still be written; older ones are left by a crash. */
export const TEMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export interface FsBlobStoreOptions {
  /** This node's name (a safe path segment): its temporary files go to `tmp/<nodeId>/`. */
  readonly nodeId: string;
  /** Other nodes' temporary files older than this are removed at init (default TEMP_MAX_AGE_MS, 24 h). */
  readonly tempMaxAgeMs?: number;
}

const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Objects as files under one root folder, which several nodes may share. A new object is written to this
 * node's `tmp/<nodeId>/`, fsynced, renamed to its final name and the folder fsynced, so that a committed
 * object survives a crash.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;
  /** This node's temporary folder, `tmp/<nodeId>`. */
  private readonly tmpDir: string;
  private readonly tempMaxAgeMs: number;
  /** Folders made or found by this process; the promise: their entry in the parent is durable. */
  private readonly knownDirs = new Map<string, Promise<void>>();
  private readonly dirSyncs = new Map<string, { sync: CoalescedSync; release: () => Promise<void> }>();

  constructor(root: string, options: FsBlobStoreOptions) {
    if (!isNodeId(options.nodeId)) throw new LanternError('LNT_INTERNAL', 'invalid node id');
    this.root = resolve(root);
    this.tmpDir = join(this.root, 'tmp', options.nodeId);
    this.tempMaxAgeMs = options.tempMaxAgeMs ?? TEMP_MAX_AGE_MS;
  }

  /**
   * Clears temporary files left by a crash: all of this node's (incomplete by definition), and other nodes'
   * only when older than the safe age (a younger one may be an object another node is receiving now).
   */
  async capacity(): Promise<{ freeBytes: number; totalBytes: number }> {
    const s = await statfs(this.root);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  }

  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    // Ages are measured against the shared file system's clock (the folder just made), not this node's,
    // so that clocks that differ between nodes cannot make a young file look old.
    const now = (await stat(this.tmpDir)).mtimeMs;
    const tmpRoot = dirname(this.tmpDir);
    const removeIfOld = async (path: string) => {
      try {
        const s = await lstat(path);
        if (!s.isDirectory() && s.mtimeMs < now - this.tempMaxAgeMs) await rm(path, { force: true });
      } catch (e) {
        if (!missing(e)) throw e; // another node removed it first
      }
    };
    for (const entry of await readdir(tmpRoot, { withFileTypes: true })) {
      const path = join(tmpRoot, entry.name);
      if (path === this.tmpDir) continue;
      // Files directly in tmp/ come from versions before per-node folders, and are treated alike.
      if (!entry.isDirectory()) {
        await removeIfOld(path);
        continue;
      }
      // Another node's folder stays (the node may be running); only its old files go.
      let names: string[];
      try {
        names = await readdir(path);
      } catch (e) {
        if (missing(e)) continue;
        throw e;
      }
      for (const name of names) await removeIfOld(join(path, name));
    }
  }

  path(key: string): string {
    // tmp/ holds the nodes' temporary folders, never objects.
    if (!KEY.test(key) || key.includes('..') || key === 'tmp' || key.startsWith('tmp/'))
      throw new LanternError('LNT_INTERNAL', 'invalid storage key');
    const p = join(this.root, key);
    if (!p.startsWith(this.root + sep)) throw new LanternError('LNT_INTERNAL', 'invalid storage key');
    return p;
  }

  /** One temporary file opened ahead, so an arriving object does not wait for the open. */
  private spare: Promise<{ tmpPath: string; fh: FileHandle }> | undefined;
  private spareOpenedAt = 0;

  private openTemp(): Promise<{ tmpPath: string; fh: FileHandle }> {
    const tmpPath = join(this.tmpDir, randomUUID());
    const p = open(tmpPath, 'wx', 0o640).then((fh) => ({ tmpPath, fh }));
    p.catch(() => undefined); // a failure surfaces at the createTemp that takes it
    return p;
  }

  async createTemp(): Promise<TempBlob> {
    let next = this.spare;
    // A spare kept through a long quiet time would look old to another node's init, which may remove it:
    // one that has waited a quarter of the safe age is replaced instead of used.
    if (next && performance.now() - this.spareOpenedAt > this.tempMaxAgeMs / 4) {
      void this.discard(next);
      next = undefined;
    }
    next ??= this.openTemp();
    this.spare = this.openTemp();
    this.spareOpenedAt = performance.now();
    const { tmpPath, fh } = await next;
    return new TempFile(
      tmpPath,
      fh,
      (key) => this.path(key),
      (dir) => this.ensureDir(dir),
      (dir) => this.syncDir(dir),
    );
  }

  /**
   * Creates a folder for objects once per process. Resolves when it exists; `durable` settles when its own
   * entry in the parent is durable too (a sync an object's sync waits for alongside
   * its own, not before it).
   */
  async ensureDir(dir: string): Promise<{ durable: Promise<void> }> {
    let entry = this.knownDirs.get(dir);
    if (!entry) {
      await mkdir(dir, { recursive: true });
      entry = this.syncDir(dirname(dir));
      entry.catch(() => this.knownDirs.delete(dir)); // tried again by the next object
      this.knownDirs.set(dir, entry);
    }
    return { durable: entry };
  }

  /**
   * Makes a folder's entries durable; concurrent callers share fsyncs. The folders objects go to are few
   * (256 per prefix), so each keeps one open descriptor instead of an open and a close around every sync.
   */
  syncDir(dir: string): Promise<void> {
    let entry = this.dirSyncs.get(dir);
    if (!entry) {
      if (this.dirSyncs.size >= MAX_DIR_HANDLES) return fsyncPath(dir);
      let handle: Promise<FileHandle> | undefined;
      const release = async () => {
        const h = handle;
        handle = undefined;
        await h?.then((fh) => fh.close()).catch(() => undefined);
      };
      const sync = new CoalescedSync(async () => {
        handle ??= open(dir, 'r');
        try {
          await (await handle).sync();
        } catch (e) {
          await release();
          throw e;
        }
      });
      entry = { sync, release };
      this.dirSyncs.set(dir, entry);
    }
    return entry.sync.request();
  }

  async *read(
    key: string,
    range?: { start: number; end: number },
    options?: { readonly buffers?: ReadBuffers },
  ): AsyncIterable<Uint8Array> {
    const path = this.path(key);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      if (missing(e)) throw new LanternError('LNT_NOT_FOUND', `no stored object ${key}`, { cause: e });
      throw e;
    }
    try {
      // Large reads straight into buffers of the right size (no stream machinery). Stored objects never
      // change, so a read that returns less than asked for has met the end of the file.
      let position = range?.start ?? 0;
      const end = range ? range.end : (await fh.stat()).size;
      while (position < end) {
        const want = Math.min(READ_CHUNK, end - position);
        const buf = options?.buffers?.take(want) ?? Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, position);
        if (bytesRead > 0) yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
        position += bytesRead;
        if (bytesRead < want) break;
      }
    } finally {
      await fh.close();
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch (e) {
      if (missing(e)) return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  /** Releases the temporary file opened ahead and the folder descriptors. */
  async close(): Promise<void> {
    const entries = [...this.dirSyncs.values()];
    this.dirSyncs.clear();
    await Promise.all(entries.map((e) => e.release()));
    const spare = this.spare;
    this.spare = undefined;
    if (spare) await this.discard(spare);
  }

  private async discard(temp: Promise<{ tmpPath: string; fh: FileHandle }>): Promise<void> {
    const t = await temp.catch(() => undefined);
    if (!t) return;
    await t.fh.close().catch(() => undefined);
    await rm(t.tmpPath, { force: true }).catch(() => undefined);
  }
}

/**
 * Bytes gathered before a write is issued. Writes run behind the producer (a C-STORE's next PDVs arrive
 * meanwhile); at most WRITE_AHEAD bytes may wait for the disk before `write` waits too.
 */
const WRITE_BATCH = 64 * 1024;
const WRITE_AHEAD = 4 * 1024 * 1024;

/** Writes every byte of `bufs` in order, going on after short writes. */
async function writeAll(fh: FileHandle, bufs: Uint8Array[]): Promise<void> {
  while (bufs.length) {
    let { bytesWritten } = await fh.writev(bufs);
    let k = 0;
    while (k < bufs.length && bytesWritten >= bufs[k].length) bytesWritten -= bufs[k++].length;
    bufs = bufs.slice(k);
    if (bytesWritten && bufs.length) bufs[0] = bufs[0].subarray(bytesWritten);
  }
}

class TempFile implements TempBlob {
  private fh: FileHandle | undefined;
  private done = false;
  /** Where the object was placed, once it was. */
  private placedAt: string | undefined;
  /** The placed object's folder entry in its parent is durable. */
  private folderDurable: Promise<void> | undefined;
  /** Bytes not yet handed to the file. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The writes issued so far, in order; the first failure stays here. */
  private writing: Promise<void> = Promise.resolve();
  private inFlight = 0;
  length = 0;

  constructor(
    private readonly tmpPath: string,
    fh: FileHandle,
    private readonly pathOf: (key: string) => string,
    private readonly ensureDir: (dir: string) => Promise<{ durable: Promise<void> }>,
    private readonly syncDir: (dir: string) => Promise<void>,
  ) {
    this.fh = fh;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.fh || this.placedAt) throw new Error('write after commit or abort');
    // Held as it is until written (the port's contract: a chunk is not changed once given).
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // The first bytes go to the file at once, so that an object in flight (or left by a crash) is seen
    // in the temporary folder; the rest is gathered into larger writes.
    const first = this.length === 0;
    this.length += chunk.length;
    if (first || this.pendingBytes >= WRITE_BATCH) this.issue();
    if (this.inFlight > WRITE_AHEAD) await this.writing;
    if (first) await this.writing;
  }

  /** Hands the gathered bytes to the file, after the writes before them. */
  private issue(): void {
    const bufs = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight += bytes;
    const fh = this.fh!;
    this.writing = this.writing.then(async () => {
      await writeAll(fh, bufs);
      this.inFlight -= bytes;
    });
    this.writing.catch(() => undefined); // surfaces at the next write that waits, or at place
  }

  async place(key: string): Promise<void> {
    if (!this.fh || this.placedAt) throw new Error('commit after commit or abort');
    const finalPath = this.pathOf(key);
    try {
      if (this.pendingBytes) this.issue();
      await this.writing;
      this.folderDurable = (await this.ensureDir(dirname(finalPath))).durable;
      // Every byte is written before the rename: a reader, or the index after a process crash, never sees
      // part of the object under its name.
      await rename(this.tmpPath, finalPath);
      this.placedAt = finalPath;
    } catch (e) {
      throw new LanternError(
        'LNT_STORAGE_FAILED',
        `storage could not write the object: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  async sync(): Promise<void> {
    const fh = this.fh;
    if (!fh || !this.placedAt) throw new Error('sync before place');
    try {
      // The data and the folder entry at the same time: one wait instead of two.
      // fdatasync: the data and what reading it needs (its size), not the times.
      await Promise.all([fh.datasync(), this.syncDir(dirname(this.placedAt)), this.folderDurable]);
    } catch (e) {
      throw new LanternError(
        'LNT_STORAGE_FAILED',
        `storage could not make the object durable: ${(e as Error).message}`,
        { cause: e },
      );
    }
    // Durable now; closing the descriptor need not hold up the caller.
    this.fh = undefined;
    this.done = true;
    fh.close().catch(() => undefined);
  }

  async commit(key: string): Promise<void> {
    await this.place(key);
    try {
      await this.sync();
    } catch (e) {
      this.done = true;
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
      await rm(this.placedAt!, { force: true });
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.pending = [];
    await this.writing.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    // A placed object belongs to its key now; its owner removes it if it must go.
    if (!this.placedAt) await rm(this.tmpPath, { force: true });
  }
}
