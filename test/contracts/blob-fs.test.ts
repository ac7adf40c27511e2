import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsBlobStore, TEMP_MAX_AGE_MS } from '../../src/adapters/blob-fs/index.js';
import { blobStoreContract } from './blob-store.contract.js';

/** Sets a file's times back by more than the safe age, from its own (the file system's clock, not ours). */
function makeOld(path: string): void {
  const s = statSync(path);
  const at = new Date(s.mtimeMs - TEMP_MAX_AGE_MS - 3_600_000);
  utimesSync(path, at, at);
}

const dir = mkdtempSync(join(tmpdir(), 'lantern-blob-fs-'));
const nodeTmp = (nodeId: string) => join(dir, 'tmp', nodeId);
blobStoreContract('filesystem', {
  open: async (nodeId) => {
    const store = new FsBlobStore(dir, { nodeId });
    await store.init();
    return store;
  },
  temps: async (nodeId) => {
    if (!existsSync(nodeTmp(nodeId))) return [];
    return readdirSync(nodeTmp(nodeId))
      .filter((name) => statSync(join(nodeTmp(nodeId), name)).size > 0)
      .sort();
  },
  age: async (nodeId) => {
    for (const name of readdirSync(nodeTmp(nodeId))) makeOld(join(nodeTmp(nodeId), name));
  },
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});

describe('filesystem blob store', () => {
  const area = () => mkdtempSync(join(tmpdir(), 'lantern-blob-fs-'));

  it('writes temporary files to tmp/<node id>/ and refuses a node id that is no safe path segment', async () => {
    const root = area();
    try {
      const store = new FsBlobStore(root, { nodeId: 'pacs-1' });
      await store.init();
      const t = await store.createTemp();
      await t.write(Buffer.from('partial'));
      expect(readdirSync(join(root, 'tmp'))).toEqual(['pacs-1']);
      await t.abort();
      await store.close();
      for (const nodeId of ['', '..', 'a/b', '../../etc', 'x'.repeat(65)])
        expect(() => new FsBlobStore(root, { nodeId }), nodeId).toThrow(/node id/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('never takes a key inside tmp/, where the nodes keep their temporary files', async () => {
    const root = area();
    try {
      const store = new FsBlobStore(root, { nodeId: 'tmp' });
      await store.init();
      for (const key of ['tmp', 'tmp/tmp', 'tmp/a/b.dcm']) {
        const t = await store.createTemp();
        await t.write(Buffer.from('x'));
        await expect(t.commit(key), key).rejects.toMatchObject({ code: 'LNT_INTERNAL' });
        await t.abort();
      }
      await store.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('removes files directly in tmp/ (the layout before per-node folders) only once they are old', async () => {
    const root = area();
    try {
      mkdirSync(join(root, 'tmp', 'other-node'), { recursive: true });
      for (const name of ['young', 'old']) writeFileSync(join(root, 'tmp', name), 'partial');
      writeFileSync(join(root, 'tmp', 'other-node', 'old'), 'partial');
      makeOld(join(root, 'tmp', 'old'));
      makeOld(join(root, 'tmp', 'other-node', 'old'));
      const store = new FsBlobStore(root, { nodeId: 'me' });
      await store.init();
      expect(readdirSync(join(root, 'tmp')).sort()).toEqual(['me', 'other-node', 'young']);
      // Another node's folder stays (it may be running), emptied of what is old.
      expect(readdirSync(join(root, 'tmp', 'other-node'))).toEqual([]);
      await store.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('replaces a file opened ahead that waited long, before another node could take it for left behind', async () => {
    const root = area();
    try {
      // A safe age of 40 ms: a file opened ahead more than 10 ms ago is not used.
      const store = new FsBlobStore(root, { nodeId: 'quiet', tempMaxAgeMs: 40 });
      await store.init();
      await (await store.createTemp()).abort();
      const [ahead] = readdirSync(join(root, 'tmp', 'quiet'));
      await new Promise((r) => setTimeout(r, 50));
      const t = await store.createTemp();
      await t.write(Buffer.from('fresh'));
      await expect.poll(() => readdirSync(join(root, 'tmp', 'quiet')).includes(ahead)).toBe(false);
      await t.commit('objects/aa/fresh.dcm');
      await store.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
