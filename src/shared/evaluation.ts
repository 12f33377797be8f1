/** The HTTP schema of a version's evaluation (what the promotion gate compared), shared by NeuroWeaver's and RelayCore's APIs. */
import { type Static, Type } from '@fastify/type-provider-typebox';
import type { Evaluation } from '../../schemas/index.ts';
import { Nullable } from '../api/schema.ts';

const Figures = (description: string) =>
  Type.Record(Type.String(), Type.Number(), { description: `${description} The model kind's figures by name.` });

export const EvaluationSchema = Type.Object(
  {
    holdoutRows: Type.Integer({ description: 'Rows of the holdout every figure was measured on.' }),
    network: Figures("This version's network."),
    linear: Nullable(Figures('A least-squares linear regression fitted on the same training split.')),
    classic: Nullable(
      Figures(
        "The kind's classic, non-learned predictor (routing: the endpoints' latency and failure EWMAs); null for kinds without one.",
      ),
    ),
    champion: Nullable(
      Type.Object(
        {
          version: Type.String(),
          metrics: Figures('Its figures on this holdout; empty when it could not be evaluated.'),
          error: Nullable(Type.String({ description: 'Why it could not be evaluated.' })),
        },
        { description: 'The champion at training time on the same holdout; null for a first version.' },
      ),
    ),
  },
  {
    description:
      "What the promotion gate compared, on this version's holdout in the target's units (schemas/model-version.avsc). The kind's primary metric decides: rmse for performance, combined_loss for routing.",
  },
);

// The HTTP schema and the registry's Avro type describe the same object: a change to one must be made to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const evaluationMatchesTheRegistry: Same<Static<typeof EvaluationSchema>, Evaluation> = true;
void evaluationMatchesTheRegistry;
