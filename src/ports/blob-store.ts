import type { ReadBuffers } from '../core/buffers/pool.js';

/**
 * Where object bytes live. Keys are made by the archive from internal ids, never from received strings:
 * lowercase letters, digits and '-' in segments separated by '/', with an optional extension
 * (`objects/ab/<uuid>.dcm`), and never the folder of other keys; any other key is refused (LNT_INTERNAL).
 * Several nodes may share one store, each with its own temporary objects.
 */
export interface BlobStore {
  /** Starts a new object in a temporary place inside the store, this node's own. */
  createTemp(): Promise<TempBlob>;
  /**
   * Streams a stored object, or a byte range of it (end exclusive; an empty range yields nothing). A missing
   * object fails with LNT_NOT_FOUND when iterated. With `buffers`, a store that reads into memory it allocates
   * takes that memory from there, one buffer per chunk yielded.
   */
  read(
    key: string,
    range?: { start: number; end: number },
    options?: { readonly buffers?: ReadBuffers },
  ): AsyncIterable<Uint8Array>;
  /** Size in bytes, or undefined when the object is missing. */
  size(key: string): Promise<number | undefined>;
  /** Removes an object; a missing one is no error. */
  delete(key: string): Promise<void>;
  /** Free and total bytes where the objects are kept, when the store can tell. */
  capacity(): Promise<{ freeBytes: number; totalBytes: number } | undefined>;
  /** Releases what the store holds open (nothing stored is affected). */
  close(): Promise<void>;
}

export interface TempBlob {
  /**
   * Adds bytes; the store may hold them in memory for a while and write them in larger pieces, so the
   * caller must not change a chunk once given.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Puts the whole object under `key`, where it can be read at once, without waiting for the disk: after a
   * process crash the object is there whole; after a power loss it may be missing or incomplete until
   * `sync` has resolved. Nothing is visible under `key` before; a failure leaves nothing there.
   */
  place(key: string): Promise<void>;
  /**
   * Makes a placed object durable (data and its folder entry). Concurrent callers share flushes. A
   * failure leaves the object in place: the caller decides whether anything may refer to it.
   */
  sync(): Promise<void>;
  /** `place` then `sync`; on failure nothing stays under `key`. */
  commit(key: string): Promise<void>;
  /** Throws away the temporary object. Safe to call after place or commit (does nothing). */
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly length: number;
}
