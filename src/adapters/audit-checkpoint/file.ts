import {
  generateKeyPairSync,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  fsyncSync,
  writeSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Checkpoint, CheckpointLog, SignedCheckpoint } from '../../ports/audit-checkpoints.js';

/**
 * Signed checkpoints in a JSON-lines file (each line `{id, hash, at, sig}`, Ed25519 over `id|hash|at`),
 * appended and synced. The key is made on first use (private key readable by its owner only); the file can
 * live on another volume than the database.
 */
export class FileCheckpointLog implements CheckpointLog {
  private key: { priv: KeyObject; pub: KeyObject } | undefined;

  constructor(
    private readonly file: string,
    private readonly keyFile: string,
  ) {}

  private keys(): { priv: KeyObject; pub: KeyObject } {
    if (this.key) return this.key;
    if (!existsSync(this.keyFile)) {
      mkdirSync(dirname(this.keyFile), { recursive: true });
      const { privateKey } = generateKeyPairSync('ed25519');
      writeFileSync(this.keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
    const priv = createPrivateKey(readFileSync(this.keyFile));
    this.key = { priv, pub: createPublicKey(priv) };
    return this.key;
  }

  async write(id: number, hash: string, at: string): Promise<SignedCheckpoint> {
    const sig = sign(null, Buffer.from(`${id}|${hash}|${at}`), this.keys().priv).toString('base64');
    mkdirSync(dirname(this.file), { recursive: true });
    const fd = openSync(this.file, 'a');
    try {
      writeSync(fd, `${JSON.stringify({ id, hash, at, sig })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return { id, hash, at, sig };
  }

  publicKey(): string {
    return this.keys().pub.export({ type: 'spki', format: 'pem' }).toString();
  }

  async read(publicKeyPem?: string): Promise<Checkpoint[]> {
    if (!existsSync(this.file)) return [];
    const pub = publicKeyPem ? createPublicKey(publicKeyPem) : this.keys().pub;
    const out: Checkpoint[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const c = JSON.parse(line) as { id: number; hash: string; at: string; sig: string };
        const signed = verify(
          null,
          Buffer.from(`${c.id}|${c.hash}|${c.at}`),
          pub,
          Buffer.from(c.sig, 'base64'),
        );
        out.push({ id: c.id, hash: c.hash, at: c.at, signed });
      } catch {
        out.push({ id: -1, hash: '', at: '', signed: false });
      }
    }
    return out;
  }
}
