/**
 * A node's name among the Lantern processes that share one index and one blob store: a safe path segment
 * (letters, digits, '.', '_', '-'; 1-64 characters; not '.' or '..'), so that it can name a node's own
 * folder in shared storage.
 */
export const NODE_ID = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;

export function isNodeId(v: unknown): v is string {
  return typeof v === 'string' && NODE_ID.test(v);
}

/** A host name as a node id: other characters become '-', cut to 64; 'lantern' when nothing is left. */
export function nodeIdOf(host: string): string {
  const id = host.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64);
  return isNodeId(id) ? id : 'lantern';
}
