/** The training worker thread: loads its own TensorFlow.js, runs one training request, reports back. */
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendChoice, tensorflow } from '../shared/tensorflow.ts';
import { runTraining, type TrainingRequest } from './training.ts';
import type { WorkerMessage } from './worker-client.ts';

const port = parentPort;
if (!port) throw new Error('train-worker.ts runs as a worker thread');
const send = (m: WorkerMessage) => port.postMessage(m);

port.once('message', (req: TrainingRequest) => {
  void (async () => {
    try {
      const { tf, backend, fallbacks } = await tensorflow((workerData as { backend: BackendChoice }).backend);
      send({ type: 'backend', backend, fallbacks });
      const result = await runTraining(tf, backend, req, (event) => send({ type: 'event', event }));
      send({ type: 'done', result });
    } catch (err) {
      send({ type: 'failed', message: (err as Error).message ?? String(err) });
    }
  })();
});
