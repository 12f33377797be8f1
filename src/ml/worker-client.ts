/** Runs a training request in a worker thread, so training never stalls the event loop (RelayCore, the API). */

import { Worker } from 'node:worker_threads';
import { AutomatrixError } from '../errors/index.ts';
import type { BackendChoice, BackendName } from '../shared/tensorflow.ts';
import type { TrainingRequest, TrainingResult } from './training.ts';
import type { TuneEvent } from './tuner.ts';

export type WorkerMessage =
  | { type: 'backend'; backend: BackendName; fallbacks: string[] }
  | { type: 'event'; event: TuneEvent }
  | { type: 'done'; result: TrainingResult }
  | { type: 'failed'; message: string };

export class TrainingCancelled extends AutomatrixError {
  constructor(message = 'the training job was cancelled') {
    super('training_cancelled', message);
  }
}

const entry = new URL('./train-worker.ts', import.meta.url);

export function trainInWorker(
  req: TrainingRequest,
  opts: { backend: BackendChoice; onMessage: (m: WorkerMessage) => void; signal?: AbortSignal },
): Promise<TrainingResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry, { workerData: { backend: opts.backend } });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', abort);
      fn();
      void worker.terminate();
    };
    const abort = () => finish(() => reject(new TrainingCancelled('training cancelled')));
    if (opts.signal?.aborted) return abort();
    opts.signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') finish(() => resolve(m.result));
      else if (m.type === 'failed') finish(() => reject(new Error(m.message)));
      else opts.onMessage(m);
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`training worker exited with code ${code}`))));
    const buffers = [req.train, req.val, req.holdout].flatMap((s) => [s.x.data.buffer, s.y.data.buffer]);
    if (req.champion) buffers.push(req.champion.holdoutX.data.buffer);
    worker.postMessage(req, buffers as ArrayBuffer[]);
  });
}
