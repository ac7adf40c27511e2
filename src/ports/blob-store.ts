/** Where object bytes live. Keys are made by the archive from internal ids, never from received strings. */
export interface BlobStore {
  /** Starts a new object in a temporary place inside the store. */
  createTemp(): Promise<TempBlob>;
  /** Streams a stored object, or a byte range of it (end exclusive). */
  read(key: string, range?: { start: number; end: number }): AsyncIterable<Uint8Array>;
  /** Size in bytes, or undefined when the object is missing. */
  size(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /** Releases what the store holds open (nothing stored is affected). */
  close(): Promise<void>;
}

export interface TempBlob {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the object durable under `key`: data synced, renamed, directory synced. */
  commit(key: string): Promise<void>;
  /** Throws away the temporary object. Safe to call after commit (does nothing). */
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly length: number;
}
