import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, LanternError } from '../../core/errors.js';
import type { ImageProcessor, ImageTask } from '../../ports/image-processor.js';
import { runImageTask } from './work.js';

/** The compiled worker beside this module (under src/ in tests, the build's copy under dist/). */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), 'worker.js');
  if (existsSync(beside)) return beside;
  return beside.replace(`${join('/', 'src', '/')}`, `${join('/', 'dist', '/')}`);
}

interface Pending {
  id: number;
  task: ImageTask;
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
}
interface Slot {
  worker: Worker;
  busy: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Decoding, transcoding and rendering run in a pool of worker threads (WASM codecs and pixel loops would
 * otherwise hold the event loop). Tasks wait in a bounded queue; past it, LNT_BUSY. A worker that dies, or
 * whose task runs past its time, is replaced and its task fails. Size 0 runs tasks in process.
 */
export class ImagePool implements ImageProcessor {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly maxQueue = 64,
    /** A task still running after this long (a decoder that never ends on crafted data) fails. */
    private readonly taskTimeoutMs = 30_000,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(workerPath());
    const slot: Slot = { worker, busy: undefined, timer: undefined };
    worker.unref();
    worker.on(
      'message',
      (msg: { id: number; bytes?: Uint8Array; error?: { message: string; code?: ErrorCode } }) => {
        const job = slot.busy;
        slot.busy = undefined;
        clearTimeout(slot.timer);
        if (job && job.id === msg.id) {
          if (msg.error) {
            job.reject(
              msg.error.code
                ? new LanternError(msg.error.code, msg.error.message)
                : new Error(msg.error.message),
            );
          } else job.resolve(new Uint8Array(msg.bytes!));
        }
        this.pump();
      },
    );
    worker.on('error', (e) => this.replace(slot, e));
    worker.on('exit', (code) => {
      if (!this.closed) this.replace(slot, new Error(`image worker exited with code ${code}`));
    });
    return slot;
  }

  private replace(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    clearTimeout(slot.timer);
    slot.busy?.reject(
      new LanternError('LNT_IMAGE_INVALID', `the image could not be processed: ${e.message}`),
    );
    slot.busy = undefined;
    void slot.worker.terminate();
    if (this.closed) return;
    this.slots[i] = this.spawn();
    this.pump();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || !this.queue.length) continue;
      const job = this.queue.shift()!;
      slot.busy = job;
      // The worker is stopped and replaced when its task runs too long: the task fails, the pool goes on.
      slot.timer = setTimeout(
        () => this.replace(slot, new Error(`it took longer than ${this.taskTimeoutMs / 1000} s`)),
        this.taskTimeoutMs,
      );
      slot.timer.unref();
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
  }

  /** Runs a task; its input buffers are copied to the worker. */
  run(task: ImageTask): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('the image pool is closed'));
    if (this.size === 0) return runImageTask(task);
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new LanternError('LNT_BUSY', 'too many image requests are waiting'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the image pool is closed'));
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      slot.busy?.reject(new Error('the image pool is closed'));
      slot.busy = undefined;
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
