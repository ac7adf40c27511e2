/** A signed statement of the audit chain's head: record `id` had hash `hash` at `at`. */
export interface Checkpoint {
  readonly id: number;
  readonly hash: string;
  readonly at: string;
  /** Whether its signature verifies with the checkpoint key. */
  readonly signed: boolean;
}

/** A checkpoint as written: `sig` is the Ed25519 signature (base64) of `id|hash|at`. */
export interface SignedCheckpoint {
  readonly id: number;
  readonly hash: string;
  readonly at: string;
  readonly sig: string;
}

/** Where signed checkpoints are kept: apart from the database, so that rewriting the chain shows. */
export interface CheckpointLog {
  /** Signs and appends a checkpoint (durable when this resolves), and returns it. */
  write(id: number, hash: string, at: string): Promise<SignedCheckpoint>;
  /**
   * The checkpoints in the order written, each with whether its signature verifies: with the signing key's
   * own public half, or with `publicKeyPem` (a copy an external witness keeps, so that a replaced key and
   * re-signed checkpoints show).
   */
  read(publicKeyPem?: string): Promise<Checkpoint[]>;
  /** The public key that verifies the checkpoints (PEM), for an external witness to keep. */
  publicKey(): string;
}
