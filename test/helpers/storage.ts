import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a storage area's temporary folders hold besides the one empty file each node's store opens ahead:
 * anything listed here is a partial object left behind. Each node writes to `tmp/<node id>/`; a file directly
 * in `tmp/` (the layout before per-node folders) counts as left behind too.
 */
export function leftoverTemp(storageRoot: string): string[] {
  const tmp = join(storageRoot, 'tmp');
  const out: string[] = [];
  for (const entry of readdirSync(tmp, { withFileTypes: true })) {
    if (!entry.isDirectory()) {
      out.push(entry.name);
      continue;
    }
    const dir = join(tmp, entry.name);
    // A file renamed to its final name between the listing and its stat is no longer temporary.
    const files = readdirSync(dir).flatMap((name) => {
      const s = statSync(join(dir, name), { throwIfNoEntry: false });
      return s ? [{ name, size: s.size }] : [];
    });
    const empty = files.filter((f) => f.size === 0);
    out.push(
      ...[...files.filter((f) => f.size > 0), ...empty.slice(1)].map((f) => `${entry.name}/${f.name}`),
    );
  }
  return out;
}
