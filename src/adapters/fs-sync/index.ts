import { open } from 'node:fs/promises';

/**
 * Runs an fsync-like operation on behalf of many callers. A caller is answered by a run that started after it
 * asked (so everything it wrote before asking is covered); callers who ask while a run is under way share
 * the next run. Under load this turns N syncs into about two.
 */
export class CoalescedSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly run: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.running) return this.start();
    if (!this.next) {
      this.next = this.running
        .catch(() => undefined)
        .then(() => {
          this.next = undefined;
          return this.start();
        });
    }
    return this.next;
  }

  private start(): Promise<void> {
    const p = this.run().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }
}

/** fsync of a file or folder by path (a fresh descriptor each time, so a replaced file is still covered). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
