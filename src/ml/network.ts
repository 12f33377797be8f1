import type { LayersModel } from '@tensorflow/tfjs';
import type { TF } from '../shared/tensorflow.ts';
import type { Hyperparameters } from './kinds/types.ts';

/**
 * A multilayer perceptron: `hp.layers` dense hidden layers (the first with `hp.units`, each next
 * one half as wide, at least 4), L2 on every kernel, dropout after each hidden layer, and a linear
 * output layer. Kinds that need another head (a sigmoid, two outputs) build on it or write their own.
 */
export function mlp(tf: TF, hp: Hyperparameters, inputs: number, outputs: number): LayersModel {
  const model = tf.sequential();
  const regularizer = hp.l2 > 0 ? tf.regularizers.l2({ l2: hp.l2 }) : undefined;
  for (let i = 0; i < hp.layers; i++) {
    const units = Math.max(4, Math.round(hp.units / 2 ** i));
    model.add(
      tf.layers.dense({
        units,
        activation: hp.activation,
        kernelRegularizer: regularizer,
        kernelInitializer: 'heNormal',
        ...(i === 0 ? { inputShape: [inputs] } : {}),
      }),
    );
    if (hp.dropout > 0) model.add(tf.layers.dropout({ rate: hp.dropout }));
  }
  model.add(tf.layers.dense({ units: outputs, ...(hp.layers === 0 ? { inputShape: [inputs] } : {}) }));
  return model;
}
