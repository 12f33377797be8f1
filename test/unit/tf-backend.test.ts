import { describe, expect, it } from 'vitest';
import { tensorflow } from '../../src/shared/tensorflow.ts';

describe('TensorFlow.js backend', () => {
  it('falls back from tfjs-node to wasm when libtensorflow is not installed, and computes', async () => {
    const { tf, backend, fallbacks } = await tensorflow('auto');
    expect(['tensorflow', 'wasm']).toContain(backend);
    if (backend === 'wasm') expect(fallbacks[0]).toMatch(/^tensorflow: /);
    const sum = tf.tensor1d([1, 2, 3]).sum().dataSync()[0];
    expect(sum).toBe(6);
    expect(tf.getBackend()).toBe(backend);
  });
});
