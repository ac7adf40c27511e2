import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { nodeIdOf } from './core/node/node-id.js';

describe('node.id', () => {
  it('defaults to the host name, made a safe path segment', () => {
    expect(loadConfig({ env: {} }).node.id).toBe(nodeIdOf(hostname()));
  });
  it('is set by LANTERN_NODE_ID or the file, and refused when it is no safe path segment', () => {
    expect(loadConfig({ env: { LANTERN_NODE_ID: 'pacs-2.site_a' } }).node.id).toBe('pacs-2.site_a');
    for (const bad of ['..', 'a/b', 'x'.repeat(65), 'pacs 2']) {
      expect(() => loadConfig({ env: { LANTERN_NODE_ID: bad } }), bad).toThrow(
        expect.objectContaining({
          code: 'LNT_CONFIG_INVALID',
          message: expect.stringMatching(/^node\.id must be .* \(from LANTERN_NODE_ID\)$/),
        }),
      );
    }
  });
});
