/** The HTTP schema of a model's hyperparameters, shared by NeuroWeaver's and RelayCore's APIs. */
import { type Static, Type } from '@fastify/type-provider-typebox';
import type { Hyperparameters } from '../../schemas/index.ts';

export const HyperparametersSchema = Type.Object(
  {
    layers: Type.Integer({ minimum: 0, maximum: 8 }),
    units: Type.Integer({ minimum: 1, maximum: 1024 }),
    learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 65536 }),
    l2: Type.Number({ minimum: 0, maximum: 1 }),
    dropout: Type.Number({ minimum: 0, maximum: 0.9 }),
    activation: Type.Union([Type.Literal('relu'), Type.Literal('elu'), Type.Literal('tanh')]),
  },
  { additionalProperties: false, description: 'Train exactly these hyperparameters (one trial, no search).' },
);

// The HTTP schema and the protocol's Avro type describe the same object: a change to one must be made to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const hyperparametersMatchTheProtocol: Same<Static<typeof HyperparametersSchema>, Hyperparameters> = true;
void hyperparametersMatchTheProtocol;
