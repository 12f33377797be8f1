/**
 * Loads TensorFlow.js on the fastest backend that works here: tfjs-node (native libtensorflow, an
 * optional dependency whose install downloads it) if it loads, else the WebAssembly backend (SIMD,
 * shipped in the npm package; measured ~1.4x faster to train and ~2x faster to infer than the
 * pure-JS cpu backend on Node 20), else cpu. Each worker thread loads its own.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type TF = typeof import('@tensorflow/tfjs');
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export interface TensorflowRuntime {
  tf: TF;
  backend: BackendName;
  /** Why the preferred backends were not used, for the log and the status endpoint. */
  fallbacks: string[];
}

const require = createRequire(import.meta.url);
let loading: Promise<TensorflowRuntime> | undefined;

/** The process's (or worker thread's) TensorFlow.js; the first call fixes the backend. */
export function tensorflow(
  choice: BackendChoice = (process.env.TFJS_BACKEND as BackendChoice | undefined) ?? 'auto',
): Promise<TensorflowRuntime> {
  loading ??= load(choice);
  return loading;
}

async function load(choice: BackendChoice): Promise<TensorflowRuntime> {
  const fallbacks: string[] = [];
  if (choice === 'auto' || choice === 'tensorflow') {
    try {
      const tf = (await import(/* optional */ '@tensorflow/tfjs-node' as string)) as TF;
      await tf.ready();
      return { tf, backend: 'tensorflow', fallbacks };
    } catch (err) {
      fallbacks.push(`tensorflow: ${firstLine(err)}`);
      if (choice === 'tensorflow')
        throw new Error(`TFJS_BACKEND=tensorflow but @tensorflow/tfjs-node does not load: ${firstLine(err)}`);
    }
  }
  const tf = await import('@tensorflow/tfjs');
  if (choice === 'auto' || choice === 'wasm') {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { tf, backend: 'wasm', fallbacks };
      }
      fallbacks.push('wasm: backend refused to initialise');
    } catch (err) {
      fallbacks.push(`wasm: ${firstLine(err)}`);
      if (choice === 'wasm') throw new Error(`TFJS_BACKEND=wasm but the wasm backend does not load: ${firstLine(err)}`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: 'cpu', fallbacks };
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];
