// Entry of NeuroWeaver's worker threads. The code runs through tsx (no build step): a .ts entry
// needs tsx's loader registered inside the thread first (execArgv --import does not reach it on Node 20).
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
