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
   * object fails with LNT_NOT_FOUND when iterated.
   */
  read(key: string, range?: { start: number; end: number }): AsyncIterable<Uint8Array>;
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
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the object durable under `key`: data synced, renamed, directory synced. Nothing is visible under
   * `key` before commit is called, the whole object once it resolves, and nothing when it fails (the object
   * may appear while commit runs: only its resolving makes it durable, so only then may anything refer to it).
   */
  commit(key: string): Promise<void>;
  /** Throws away the temporary object. Safe to call after commit (does nothing). */
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly length: number;
}
