import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AeRecord, AeStore } from '../../src/ports/ae-store.js';

export interface AeStoreBackend {
  /** The AE store of a database of the suite's own, migrated: called twice, it stands for two nodes. */
  open(): Promise<{ readonly aes: AeStore; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

/** One suite, every index adapter: the AE registry's peers are kept alike on SQLite and PostgreSQL. */
export function aeStoreContract(name: string, backend: AeStoreBackend): void {
  describe(`AE store contract: ${name}`, () => {
    let a: { readonly aes: AeStore; close(): Promise<void> };
    let b: { readonly aes: AeStore; close(): Promise<void> };
    const now = new Date().toISOString();

    beforeAll(async () => {
      a = await backend.open();
      b = await backend.open();
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await backend.cleanup();
    });

    it('adds, updates, lists in title order, finds and removes; every node sees the same', async () => {
      expect(await a.aes.listAes()).toEqual([]);
      const ct: AeRecord = {
        aeTitle: 'CT1',
        host: '10.0.0.21',
        port: 104,
        tls: false,
        permissions: ['store'],
        mode: 'device',
        certSha256: '',
      };
      const ws: AeRecord = {
        aeTitle: 'WS1',
        host: '',
        port: 0,
        tls: true,
        permissions: ['find', 'move'],
        mode: 'people',
        certSha256: 'ab'.repeat(32),
      };
      await a.aes.putAe(ws, now);
      await a.aes.putAe(ct, now);
      const moved: AeRecord = { ...ct, host: 'ct1.example', port: 11112, permissions: ['store', 'find'] };
      await b.aes.putAe(moved, now);
      expect(await a.aes.listAes()).toEqual([moved, ws]);
      expect(await b.aes.findAe('WS1')).toEqual(ws);
      expect(await a.aes.removeAe('WS1')).toBe(true);
      expect(await b.aes.removeAe('WS1')).toBe(false);
      expect(await b.aes.findAe('WS1')).toBeUndefined();
      expect(await a.aes.listAes()).toEqual([moved]);
    });

    it('keeps titles exactly (case, spaces inside, the longest title) and a peer with no permissions', async () => {
      const titles = ['ct1', 'CT 2', 'A'.repeat(16), 'Ü-é'];
      for (const t of titles)
        await a.aes.putAe(
          { aeTitle: t, host: '', port: 0, tls: false, permissions: [], mode: 'device', certSha256: '' },
          now,
        );
      for (const t of titles) expect(await b.aes.findAe(t)).toMatchObject({ aeTitle: t, permissions: [] });
      expect(await a.aes.findAe('Ct1')).toBeUndefined();
      for (const t of titles) expect(await a.aes.removeAe(t)).toBe(true);
    });

    it('concurrent updates of one title from two nodes leave one record, one of the writes whole', async () => {
      const versions: AeRecord[] = Array.from({ length: 10 }, (_, i) => ({
        aeTitle: 'RACE',
        host: `10.0.1.${i}`,
        port: 1000 + i,
        tls: i % 2 === 0,
        permissions: i % 3 ? ['store'] : ['find', 'get', 'move', 'destination'],
        mode: i % 2 ? 'people' : 'device',
        certSha256: '',
      }));
      await Promise.all(versions.map((v, i) => (i % 2 ? b : a).aes.putAe(v, now)));
      const kept = await a.aes.findAe('RACE');
      expect(versions).toContainEqual(kept);
      expect((await b.aes.listAes()).filter((r) => r.aeTitle === 'RACE')).toHaveLength(1);
    });
  });
}
