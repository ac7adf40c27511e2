import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a storage area's temporary folder holds besides the one empty file the store opens ahead:
 * anything listed here is a partial object left behind.
 */
export function leftoverTemp(storageRoot: string): string[] {
  const dir = join(storageRoot, 'tmp');
  const files = readdirSync(dir).map((name) => ({ name, size: statSync(join(dir, name)).size }));
  const empty = files.filter((f) => f.size === 0);
  return [...files.filter((f) => f.size > 0), ...empty.slice(1)].map((f) => f.name);
}
