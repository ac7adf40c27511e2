import { createHash } from 'node:crypto';
import { Tag, tagHex } from '../core/dicom/dictionary.js';
import { DicomParser, metaHeaderEnd, parseDicom } from '../core/dicom/parser.js';
import { LanternError } from '../core/errors.js';
import { type Actor, requirePermission } from '../core/security/actor.js';
import type { QueryKey } from '../core/query/keys.js';
import type { ReadBuffers } from '../core/buffers/pool.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ArchiveIndex, InstanceRow } from '../ports/archive-index.js';
import type { QueryService } from './query.js';
import type { ClinicalAudit, Party } from './clinical-audit.js';

/**
 * Keys that only name a study, series or instance by one UID each (the usual retrieval): those are answered
 * by one index query instead of a query per level.
 */
function uidKeys(
  keys: readonly QueryKey[],
): { study?: string; series?: string; instance?: string } | undefined {
  const out: { study?: string; series?: string; instance?: string } = {};
  const names: Record<number, 'study' | 'series' | 'instance'> = {
    [Tag.StudyInstanceUID]: 'study',
    [Tag.SeriesInstanceUID]: 'series',
    [Tag.SOPInstanceUID]: 'instance',
  };
  for (const k of keys) {
    const name = names[k.tag];
    const v = typeof k.value === 'string' ? k.value : undefined;
    if (
      !name ||
      v === undefined ||
      v === '' ||
      v.includes('\\') ||
      /[*?]/.test(v) ||
      out[name] !== undefined
    ) {
      return undefined;
    }
    out[name] = v;
  }
  return out.study || out.series || out.instance ? out : undefined;
}

/** Objects read ahead of the one being sent, and the most bytes they may hold. */
const READ_AHEAD = 8;
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * The range that reads a stored object of the size the index recorded and one byte more: the store need not
 * look up the size, and an object that grew is still seen to be of another size.
 */
function expected(row: InstanceRow): { start: number; end: number } | undefined {
  return row.size === undefined ? undefined : { start: 0, end: row.size + 1 };
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

/** The refusal to serve a stored object that an integrity check found damaged. */
function damaged(row: InstanceRow): LanternError {
  return new LanternError(
    'LNT_OBJECT_DAMAGED',
    `stored object ${row.sopInstanceUid} failed its integrity check (${row.integrity === 'missing' ? 'file missing' : 'bytes differ from those stored'}); it is not served until restored`,
  );
}

/** How much of a stored file is read to find where its data set starts (meta headers are small). */
const HEADER_PROBE = 64 * 1024;

/**
 * Retrieval (the engine behind C-MOVE, C-GET and WADO): which stored instances a set of keys selects, and
 * their bytes as stored.
 */
export class RetrieveService {
  constructor(
    private readonly index: ArchiveIndex,
    private readonly blobs: BlobStore,
    private readonly query: QueryService,
    private readonly audit?: ClinicalAudit,
  ) {}

  /**
   * Records instances about to be sent before they go (PS3.15 DICOM Instances Transferred: whole objects,
   * to `by` or to `destination`) or read (Instances Accessed: metadata, frames, rendered images, bulk data).
   */
  async recordSent(
    by: Party,
    rows: readonly InstanceRow[],
    kind: 'transferred' | 'accessed',
    destination?: string,
  ): Promise<void> {
    await this.audit?.sent(by, rows, kind, destination);
  }

  /**
   * Which of `rows` may have their stored bytes served: not those an integrity check found damaged (their
   * bytes differ from those stored, or their file is gone), which are withheld until restored and checked
   * again. When every one is damaged, LNT_OBJECT_DAMAGED. Metadata, kept in the index, is not affected.
   */
  servable<T extends InstanceRow>(rows: readonly T[]): { rows: T[]; withheld: number } {
    const { whole, damaged: bad } = this.partition(rows);
    if (rows.length && !whole.length) throw damaged(rows[0]);
    return { rows: whole, withheld: bad.length };
  }

  /** `rows` split into those that may be served and those an integrity check found damaged. */
  partition<T extends InstanceRow>(rows: readonly T[]): { whole: T[]; damaged: T[] } {
    return { whole: rows.filter((r) => !r.integrity), damaged: rows.filter((r) => !!r.integrity) };
  }

  /** The instances under the matches of `keys` at `level` (relational: any key at any level). */
  async instances(keys: readonly QueryKey[], signal?: AbortSignal, actor?: Actor): Promise<InstanceRow[]> {
    requirePermission(actor, 'study.read');
    const byUid = uidKeys(keys);
    if (byUid) return this.index.instancesByUid(byUid);
    const withUid = keys.some((k) => k.tag === Tag.SOPInstanceUID)
      ? keys
      : [...keys, { tag: Tag.SOPInstanceUID, vr: 'UI' as const, value: '' }];
    const out: InstanceRow[] = [];
    for await (const m of this.query.queryAll({ level: 'IMAGE', keys: withUid, signal, actor })) {
      const uid = m[tagHex(Tag.SOPInstanceUID)]?.Value?.[0];
      if (typeof uid !== 'string') continue;
      const row = await this.index.findInstance(uid);
      if (row) out.push(row);
    }
    return out;
  }

  /**
   * `datasetStream` for instances sent one after another (C-MOVE and C-GET sub-operations): when one is
   * asked for, the data sets of the next small ones (up to READ_AHEAD objects and READ_AHEAD_BYTES) start
   * being read, so the next C-STORE does not wait for its file while the peer answers this one. An instance
   * asked for out of turn, or a large one, is streamed as `datasetStream` does; errors are the same, when
   * the instance is asked for.
   */
  datasetsInOrder<T extends InstanceRow>(rows: readonly T[]): (row: T) => Promise<AsyncIterable<Uint8Array>> {
    const ahead = new Map<T, { chunks: Promise<Uint8Array[]>; bytes: number }>();
    let held = 0;
    let next = 0;
    const position = new Map(rows.map((r, i) => [r, i] as const));
    const fill = () => {
      while (next < rows.length && ahead.size < READ_AHEAD) {
        const r = rows[next];
        const bytes = r.size ?? Infinity;
        if (held + bytes > READ_AHEAD_BYTES) break;
        next++;
        const chunks = this.datasetStream(r).then(collect);
        chunks.catch(() => undefined); // awaited when its turn comes; a send that stops early never does
        held += bytes;
        ahead.set(r, { chunks, bytes });
      }
    };
    return async (row) => {
      next = Math.max(next, (position.get(row) ?? -1) + 1);
      const mine = ahead.get(row);
      ahead.delete(row);
      if (mine) held -= mine.bytes;
      // Refilled once this object has gone out (after the writes of this turn): the reads' dispatch costs
      // the main thread more than the next C-STORE's round trip can spare.
      setImmediate(fill);
      if (!mine) return this.datasetStream(row);
      const chunks = await mine.chunks;
      return (async function* () {
        yield* chunks;
      })();
    };
  }

  /** The stored bytes of an instance's data set (after its meta header), streamed. */
  async datasetStream(row: InstanceRow): Promise<AsyncIterable<Uint8Array>> {
    if (row.integrity) throw damaged(row);
    // One read of the stored object: the meta header is passed over as it streams (found element by
    // element in the first bytes), so sending it costs one open and no parse of the data set. The first
    // chunk is read here, so that a missing object fails before anything is sent for it.
    const source = this.blobs.read(row.blobKey, expected(row))[Symbol.asyncIterator]();
    let first: IteratorResult<Uint8Array>;
    try {
      first = await source.next();
    } catch (e) {
      await source.return?.();
      throw e;
    }
    return (async function* () {
      try {
        const head: Uint8Array[] = [];
        let n = 0;
        let offset: number | undefined;
        let next = first;
        while (!next.done) {
          head.push(next.value);
          n += next.value.length;
          offset = metaHeaderEnd(head.length === 1 ? head[0] : Buffer.concat(head, n));
          if (offset !== undefined || n >= HEADER_PROBE) break;
          next = await source.next();
        }
        // Most often the first read holds the meta header: no copy of it.
        const start = head.length === 1 ? head[0] : Buffer.concat(head, n);
        // A file whose meta header cannot be walked (ingest never stores one): the parser decides.
        offset ??= parseDicom(start.subarray(0, Math.min(n, HEADER_PROBE)), {
          untilPixelData: true,
        }).datasetOffset;
        if (offset < start.length) yield start.subarray(offset);
        let skip = Math.max(0, offset - start.length);
        for (;;) {
          const chunk = await source.next();
          if (chunk.done) return;
          const rest = skip ? chunk.value.subarray(Math.min(skip, chunk.value.length)) : chunk.value;
          skip = Math.max(0, skip - chunk.value.length);
          if (rest.length) yield rest;
        }
      } finally {
        await source.return?.();
      }
    })();
  }

  /**
   * The stored objects of `rows` in order, each whole as kept, read ahead: while one is being sent the next
   * small ones (up to READ_AHEAD objects and READ_AHEAD_BYTES) are already being read, so a study of many
   * small objects is not sent at the pace of one open-read-close after another. A large object is streamed
   * when its turn comes. An undefined row yields undefined (the caller sends something else there). Chunks
   * are read into `buffers` when given (the caller gives them back once sent). An object is read to the size
   * the index recorded and one byte beyond, so the caller can tell an object of another size by what it got.
   */
  async *storedObjects(
    rows: readonly (InstanceRow | undefined)[],
    buffers?: ReadBuffers,
  ): AsyncGenerator<AsyncIterable<Uint8Array> | undefined> {
    const options = { buffers };
    const ahead: { row: InstanceRow | undefined; whole?: Promise<Uint8Array[]>; bytes: number }[] = [];
    let next = 0;
    let held = 0;
    for (const row of rows) if (row?.integrity) throw damaged(row);
    const fill = () => {
      while (next < rows.length && ahead.length < READ_AHEAD) {
        const row = rows[next];
        const bytes = row?.size ?? Infinity;
        const small = bytes <= READ_AHEAD_BYTES && held + bytes <= READ_AHEAD_BYTES;
        // A large object waits for its turn, and nothing after it is read before it.
        if (row && !small && ahead.length) return;
        next++;
        if (!row || !small) {
          ahead.push({ row, bytes: 0 });
          continue;
        }
        const whole = collect(this.blobs.read(row.blobKey, expected(row), options));
        whole.catch(() => undefined); // awaited at its turn; a consumer that stops early never does
        held += bytes;
        ahead.push({ row, whole, bytes });
      }
    };
    fill();
    while (ahead.length) {
      const { row, whole, bytes } = ahead.shift()!;
      if (!row) {
        fill();
        yield undefined;
        continue;
      }
      if (!whole) {
        yield this.blobs.read(row.blobKey, expected(row), options);
        fill();
        continue;
      }
      const chunks = await whole;
      held -= bytes;
      fill();
      yield (async function* () {
        yield* chunks;
      })();
    }
  }

  /** The stored object whole (meta header included), as kept. */
  objectStream(row: InstanceRow, range?: { start: number; end: number }): AsyncIterable<Uint8Array> {
    if (row.integrity) throw damaged(row);
    return this.blobs.read(row.blobKey, range);
  }

  /**
   * Where a top-level attribute's value sits in the stored object: its bytes when small, else its offset and
   * length in the object (for ranged reads). Undefined when absent; 'encapsulated' for compressed pixel data.
   */
  async locateValue(
    row: InstanceRow,
    tag: number,
  ): Promise<{ bytes: Uint8Array } | { offset: number; length: number } | 'encapsulated' | undefined> {
    if (row.integrity) throw damaged(row);
    const parser = new DicomParser({ bulkDataThreshold: 1024 });
    let complete = false;
    for await (const chunk of this.blobs.read(row.blobKey)) {
      parser.push(chunk);
      // Elements come in tag order: once a later one has begun, the one asked for is whole.
      if (parser.lastTopLevelTag > tag) {
        complete = true;
        break;
      }
    }
    const el = (complete ? parser.peekTopLevel() : parser.end().dataset).get(tag);
    if (!el) return undefined;
    if (el.fragments) return 'encapsulated';
    if (el.bulk) return { offset: el.bulk.offset, length: el.bulk.length };
    if (el.items) return undefined;
    return { bytes: el.value ?? new Uint8Array(0) };
  }

  /** SHA-256 of a stored object, read back now (storage commitment re-verifies with it). */
  async digest(row: InstanceRow): Promise<string | undefined> {
    if ((await this.blobs.size(row.blobKey)) === undefined) return undefined;
    const h = createHash('sha256');
    for await (const c of this.blobs.read(row.blobKey)) h.update(c);
    return h.digest('hex');
  }
}
