import { createHash } from 'node:crypto';
import type { BlobStore } from '../ports/blob-store.js';
import type { ArchiveIndex } from '../ports/archive-index.js';

export interface VerifyProblem {
  readonly sopInstanceUid: string;
  readonly blobKey: string;
  readonly detail: string;
}

export interface VerifyReport {
  readonly checked: number;
  readonly bytes: number;
  readonly mismatched: VerifyProblem[];
  readonly missing: VerifyProblem[];
}

/** The size and SHA-256 of a stored object as it is now; undefined when it is missing. */
export async function storedDigest(
  blobs: BlobStore,
  key: string,
): Promise<{ size: number; sha256: string } | undefined> {
  const size = await blobs.size(key);
  if (size === undefined) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of blobs.read(key)) hash.update(chunk);
  return { size, sha256: hash.digest('hex') };
}

/** Re-hashes every stored object against the digest the index recorded when it was stored. */
export class VerifyService {
  constructor(
    private readonly index: ArchiveIndex,
    private readonly blobs: BlobStore,
  ) {}

  async run(onProgress?: (checked: number, bytes: number) => void): Promise<VerifyReport> {
    const report = {
      checked: 0,
      bytes: 0,
      mismatched: [] as VerifyProblem[],
      missing: [] as VerifyProblem[],
    };
    let afterId = 0;
    for (;;) {
      const rows = await this.index.listInstances(afterId, 500);
      if (!rows.length) break;
      afterId = rows[rows.length - 1].id;
      for (const row of rows) {
        report.checked++;
        const now = await storedDigest(this.blobs, row.blobKey);
        if (!now) {
          report.missing.push({
            sopInstanceUid: row.sopInstanceUid,
            blobKey: row.blobKey,
            detail: 'file is missing',
          });
          continue;
        }
        const { size, sha256: digest } = now;
        report.bytes += size;
        if (digest !== row.sha256 || size !== row.size) {
          report.mismatched.push({
            sopInstanceUid: row.sopInstanceUid,
            blobKey: row.blobKey,
            detail:
              size !== row.size
                ? `size ${size}, recorded ${row.size}`
                : 'SHA-256 differs from the recorded digest',
          });
        }
        onProgress?.(report.checked, report.bytes);
      }
    }
    return report;
  }
}
