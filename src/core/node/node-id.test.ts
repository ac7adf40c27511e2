import { describe, expect, it } from 'vitest';
import { isNodeId, nodeIdOf } from './node-id.js';

describe('node ids', () => {
  it('are safe path segments', () => {
    for (const ok of ['a', 'pacs-01', 'node_2.example.org', 'A'.repeat(64)])
      expect(isNodeId(ok), ok).toBe(true);
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'ünï', 'a b', 'A'.repeat(65), 7, undefined])
      expect(isNodeId(bad), String(bad)).toBe(false);
  });
  it('are made from any host name', () => {
    expect(nodeIdOf('pacs-01.example.org')).toBe('pacs-01.example.org');
    expect(nodeIdOf('my host/ü')).toBe('my-host-');
    expect(nodeIdOf('x'.repeat(100))).toBe('x'.repeat(64));
    expect(nodeIdOf('')).toBe('lantern');
    expect(nodeIdOf('..')).toBe('lantern');
  });
});
