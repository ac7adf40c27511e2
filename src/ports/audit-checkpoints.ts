/** A signed statement of the audit chain's head: record `id` had hash `hash` at `at`. */
export interface Checkpoint {
  readonly id: number;
  readonly hash: string;
  readonly at: string;
  /** Whether its signature verifies with the checkpoint key. */
  readonly signed: boolean;
}

/** Where signed checkpoints are kept: apart from the database, so that rewriting the chain shows. */
export interface CheckpointLog {
  write(id: number, hash: string, at: string): Promise<void>;
  read(): Promise<Checkpoint[]>;
}
