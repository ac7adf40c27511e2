import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { LanternError } from '../../core/errors.js';
import type { ImageTask } from '../../ports/image-processor.js';
import { runImageTask } from './work.js';

/** A pool worker: runs image tasks posted by the pool, one at a time. */
sharp.concurrency(1);
parentPort!.on('message', (msg: { id: number; task: ImageTask }) => {
  runImageTask(msg.task).then(
    (bytes) => parentPort!.postMessage({ id: msg.id, bytes }, [bytes.buffer as ArrayBuffer]),
    (e: unknown) => {
      const err = e as Error;
      const code = e instanceof LanternError ? e.code : undefined;
      parentPort!.postMessage({ id: msg.id, error: { message: err.message ?? String(e), code } });
    },
  );
});
