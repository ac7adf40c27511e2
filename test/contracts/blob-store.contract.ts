import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/core/buffers/pool.js';
import type { BlobStore } from '../../src/ports/blob-store.js';

export interface BlobStoreBackend {
  /**
   * A store over the suite's one storage area as node `nodeId`, started as a node starts (temporary objects
   * cleaned). Called with several ids, the stores stand for several nodes sharing the area.
   */
  open(nodeId: string): Promise<BlobStore>;
  /** Node `nodeId`'s temporary objects that hold data, by name (a store may keep empty ones opened ahead). */
  temps(nodeId: string): Promise<string[]>;
  /**
   * Makes node `nodeId`'s temporary objects older than the safe age, as if a crash had left them a day ago.
   * (A backend whose times the server sets may instead open its stores with a short safe age and wait.)
   */
  age(nodeId: string): Promise<void>;
  cleanup(): Promise<void>;
}

async function bytesOf(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A key of the archive's shape, of its own for each use. */
const newKey = (prefix = 'objects') => {
  const id = randomUUID();
  return `${prefix}/${id.slice(0, 2)}/${id}.dcm`;
};
const newNode = () => `node-${randomBytes(4).toString('hex')}`;

/**
 * One suite, every blob store adapter: the same behaviour on the filesystem and on an object store. Stores
 * opened with different node ids over the one storage area stand for nodes sharing it.
 */
export function blobStoreContract(name: string, backend: BlobStoreBackend): void {
  describe(`blob store contract: ${name}`, () => {
    const node = newNode();
    let store: BlobStore;
    const opened: BlobStore[] = [];
    const open = async (nodeId: string) => {
      const s = await backend.open(nodeId);
      opened.push(s);
      return s;
    };
    /** Stops a node's store (as a crash would, but releasing what it holds open) and starts it again. */
    const restart = async (s: BlobStore, nodeId: string) => {
      await s.close();
      opened.splice(opened.indexOf(s), 1);
      return open(nodeId);
    };
    const put = async (key: string, data: Uint8Array, s = store) => {
      const t = await s.createTemp();
      await t.write(data);
      await t.commit(key);
    };

    beforeAll(async () => {
      store = await open(node);
    });

    afterAll(async () => {
      for (const s of opened) await s.close();
      await backend.cleanup();
    });

    it('tells how much room is left where the objects are kept, when it can', async () => {
      const c = await store.capacity();
      if (c === undefined) return;
      expect(c.totalBytes).toBeGreaterThan(0);
      expect(c.freeBytes).toBeGreaterThanOrEqual(0);
      expect(c.freeBytes).toBeLessThanOrEqual(c.totalBytes);
    });

    it('writes an object in chunks and commits it under a key: read back whole, by range, and its size', async () => {
      const data = randomBytes(1_300_000); // more than one read chunk
      const t = await store.createTemp();
      expect(t.length).toBe(0);
      let at = 0;
      for (const size of [1, 0, 131, 4096, 65_536, 1_000_000]) {
        await t.write(data.subarray(at, at + size));
        at += size;
        expect(t.length).toBe(at);
      }
      await t.write(data.subarray(at));
      expect(t.length).toBe(data.length);
      const key = newKey();
      await t.commit(key);

      expect(await store.size(key)).toBe(data.length);
      expect(sha(await bytesOf(store.read(key)))).toBe(sha(data));
      for (const [start, end] of [
        [0, 1],
        [0, 132],
        [128, 132],
        [262_000, 700_001],
        [data.length - 5, data.length],
        [0, data.length],
      ]) {
        expect(sha(await bytesOf(store.read(key, { start, end }))), `${start}-${end}`).toBe(
          sha(data.subarray(start, end)),
        );
      }
      expect((await bytesOf(store.read(key, { start: 77, end: 77 }))).length).toBe(0);
      // Read into lent buffers (large enough, or too small so the store allocates): the same bytes, and a
      // buffer given back between chunks is never one a later chunk still shares.
      for (const pool of [new BufferPool(), new BufferPool(100)]) {
        const chunks: Buffer[] = [];
        for await (const c of store.read(key, undefined, { buffers: pool })) {
          chunks.push(Buffer.from(c));
          pool.give(c);
        }
        expect(sha(Buffer.concat(chunks))).toBe(sha(data));
        const ranged = await bytesOf(store.read(key, { start: 128, end: 700_001 }, { buffers: pool }));
        expect(sha(ranged)).toBe(sha(data.subarray(128, 700_001)));
      }
    });

    // A key is never also the folder of other keys (the archive's keys end in a random id).
    it('keeps keys with folders apart, however deep, and keys without an extension', async () => {
      const id = randomUUID();
      const objects = new Map<string, Buffer>([
        [`objects/${id.slice(0, 2)}/${id}`, randomBytes(10)],
        [`objects/${id}/a.dcm`, randomBytes(11)],
        [`objects/${id}/b.dcm`, randomBytes(12)],
        [`objects/${id}/deeper/still/c.dcm`, randomBytes(13)],
        [`quarantine/${id}/a.dcm`, randomBytes(14)],
      ]);
      for (const [key, data] of objects) await put(key, data);
      for (const [key, data] of objects) {
        expect(await store.size(key), key).toBe(data.length);
        expect(await bytesOf(store.read(key)), key).toEqual(data);
      }
    });

    it('refuses keys the archive does not make, and stores nothing for them', async () => {
      const before = await backend.temps(node);
      for (const key of [
        '',
        'Objects/a.dcm',
        '../escape',
        '/absolute',
        'a//b',
        'a/',
        'a/../b',
        'a b',
        'a/ü',
      ]) {
        const t = await store.createTemp();
        await t.write(Buffer.from('x'));
        await expect(t.commit(key), key).rejects.toMatchObject({ code: 'LNT_INTERNAL' });
        await t.abort();
      }
      expect(await backend.temps(node)).toEqual(before);
    });

    it('shows nothing under a key before commit, and the object whole once it resolves, to every node', async () => {
      const key = newKey();
      const data = randomBytes(100_000);
      const before = await backend.temps(node);
      const t = await store.createTemp();
      await t.write(data.subarray(0, 50_000));
      expect(await store.size(key)).toBeUndefined();
      await t.write(data.subarray(50_000));
      expect(await store.size(key)).toBeUndefined();
      await expect(bytesOf(store.read(key))).rejects.toMatchObject({ code: 'LNT_NOT_FOUND' });
      expect((await backend.temps(node)).length).toBe(before.length + 1);
      await t.commit(key);
      // The temporary object became the stored one: none is left behind.
      expect(await backend.temps(node)).toEqual(before);
      // Another node, or this one after a restart, sees the same object.
      const other = await open(newNode());
      expect(await other.size(key)).toBe(data.length);
      expect(await bytesOf(other.read(key))).toEqual(data);
      store = await restart(store, node);
      expect(await bytesOf(store.read(key))).toEqual(data);
    });

    it('abort removes the temporary object and leaves nothing under the key; commit after it fails', async () => {
      const key = newKey();
      const before = await backend.temps(node);
      const t = await store.createTemp();
      await t.write(randomBytes(5000));
      expect((await backend.temps(node)).length).toBe(before.length + 1);
      await t.abort();
      expect(await backend.temps(node)).toEqual(before);
      await expect(t.commit(key)).rejects.toThrow();
      await expect(t.write(Buffer.from('more'))).rejects.toThrow();
      await t.abort(); // twice is fine
      expect(await store.size(key)).toBeUndefined();
      await expect(bytesOf(store.read(key))).rejects.toMatchObject({ code: 'LNT_NOT_FOUND' });
      expect(await backend.temps(node)).toEqual(before);
    });

    it('a committed object stays as it is: a second commit fails, abort after commit does nothing', async () => {
      const key = newKey();
      const other = newKey();
      const data = randomBytes(3000);
      const t = await store.createTemp();
      await t.write(data);
      await t.commit(key);
      await expect(t.write(Buffer.from('more'))).rejects.toThrow();
      await expect(t.commit(other)).rejects.toThrow();
      await t.abort();
      expect(await bytesOf(store.read(key))).toEqual(data);
      expect(await store.size(other)).toBeUndefined();
    });

    it('keeps temporary objects written at the same time apart', async () => {
      const before = await backend.temps(node);
      const n = 16;
      const temps = await Promise.all(Array.from({ length: n }, () => store.createTemp()));
      const data = temps.map(() => [randomBytes(7000), randomBytes(9000), randomBytes(1)]);
      // Interleaved: every temporary object gets its first part, then its second, ...
      for (let part = 0; part < 3; part++) await Promise.all(temps.map((t, i) => t.write(data[i][part])));
      expect((await backend.temps(node)).length).toBe(before.length + n);
      const keys = temps.map(() => newKey());
      await Promise.all(temps.map((t, i) => t.commit(keys[i])));
      for (let i = 0; i < n; i++) expect(await bytesOf(store.read(keys[i]))).toEqual(Buffer.concat(data[i]));
      expect(await backend.temps(node)).toEqual(before);
    });

    it('deletes an object; deleting a missing one is no error', async () => {
      const key = newKey();
      await put(key, randomBytes(100));
      await store.delete(key);
      expect(await store.size(key)).toBeUndefined();
      await expect(bytesOf(store.read(key))).rejects.toMatchObject({ code: 'LNT_NOT_FOUND' });
      await store.delete(key);
      await store.delete(newKey());
    });

    it('reading a missing object fails with LNT_NOT_FOUND, whole or by range', async () => {
      const key = newKey();
      expect(await store.size(key)).toBeUndefined();
      await expect(bytesOf(store.read(key))).rejects.toMatchObject({ code: 'LNT_NOT_FOUND' });
      await expect(bytesOf(store.read(key, { start: 0, end: 10 }))).rejects.toMatchObject({
        code: 'LNT_NOT_FOUND',
      });
      await expect(bytesOf(store.read(key, { start: 0, end: 0 }))).rejects.toMatchObject({
        code: 'LNT_NOT_FOUND',
      });
    });

    it("nodes sharing the store: a start removes the node's own leftovers and others' old ones, never others' young ones", async () => {
      const [a, b] = [newNode(), newNode()];
      const kept = newKey();
      await put(kept, Buffer.from('committed objects are never touched'));
      // Node a is receiving an object when node b starts: b leaves it alone.
      const nodeA = await open(a);
      const inFlight = await nodeA.createTemp();
      await inFlight.write(randomBytes(2000));
      const nodeB = await open(b);
      expect(await backend.temps(a)).toHaveLength(1);
      await inFlight.write(randomBytes(2000));
      await inFlight.commit(newKey());
      expect(await backend.temps(a)).toHaveLength(0);

      // Node a crashes with an object half received; node b is receiving one too.
      const abandoned = await nodeA.createTemp();
      await abandoned.write(randomBytes(2000));
      const young = await nodeB.createTemp();
      await young.write(randomBytes(2000));
      // Still young: another node's start keeps both.
      await open(newNode());
      expect(await backend.temps(a)).toHaveLength(1);
      expect(await backend.temps(b)).toHaveLength(1);
      // A day later node a has not come back: the next node to start removes what a left, not b's.
      await backend.age(a);
      await open(newNode());
      expect(await backend.temps(a)).toHaveLength(0);
      expect(await backend.temps(b)).toHaveLength(1);

      // A node that starts again removes its own leftovers at once, however young.
      await restart(nodeB, b);
      expect(await backend.temps(b)).toHaveLength(0);
      await abandoned.abort();
      await young.abort();
      expect(await bytesOf(store.read(kept))).toEqual(Buffer.from('committed objects are never touched'));
    });
  });
}
