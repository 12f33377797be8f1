/** One routing scenario with one policy: endpoints in a worker, load from this process, RelayCore in between. */
import { Worker } from 'node:worker_threads';
import type { DeliveryOutcome, ModelVersion } from '../../schemas/types.ts';
import { type PolicyName, parseRoute } from '../../src/relay/index.ts';
import type { Answered } from './endpoints-worker.ts';
import { bench, sleep, until } from './relay-run.ts';
import { seedChampion } from './routing-model.ts';
import { prng, rateAt, type Scenario } from './scenario.ts';

export interface RunResult {
  scenario: string;
  policy: PolicyName;
  seed: number;
  produced: number;
  delivered: number;
  deadLettered: number;
  outcomes: DeliveryOutcome[];
  /** Each message's first successful answer, measured at its endpoint (producer timestamp to answer). */
  answered: Answered[];
  decisionUs: number | null;
  modelVersion: string | null;
}

async function startEndpoints(s: Scenario, seed: number): Promise<{ worker: Worker; ports: number[] }> {
  const worker = new Worker(new URL('./endpoints-worker.ts', import.meta.url), {
    workerData: { endpoints: s.endpoints, seed },
  });
  const ports = await new Promise<number[]>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { type: string; ports: number[] }) => m.type === 'ready' && resolve(m.ports));
  });
  return { worker, ports };
}

async function collect(worker: Worker): Promise<Answered[]> {
  const reply = new Promise<Answered[]>((resolve) => {
    const onMessage = (m: { type: string; answered: Answered[] }) => {
      if (m.type !== 'answered') return;
      worker.off('message', onMessage);
      resolve(m.answered);
    };
    worker.on('message', onMessage);
  });
  worker.postMessage({ type: 'collect' });
  return reply;
}

export interface Lane {
  policy: PolicyName;
  seed: number;
}

/**
 * Runs one scenario for several lanes at once, side by side: each lane has its own topics, its
 * own RelayCore and its own endpoint worker (same behaviour for the same seed), and all get the
 * same load at the same moments. On a shared, noisy machine a stall then hits every lane alike,
 * so the lanes compare fairly.
 */
export async function runLanes(
  s: Scenario,
  lanes: Lane[],
  modelPath: string,
  model?: ModelVersion,
): Promise<RunResult[]> {
  const setups = await Promise.all(
    lanes.map(async (lane) => {
      const b = await bench('routing');
      // Every lane has a registry of its own: the learned lanes' RelayCore serves this champion from its start.
      if (model) await seedChampion(b, model);
      const { worker, ports } = await startEndpoints(s, lane.seed);
      return { lane, b, worker, ports };
    }),
  );
  try {
    const running = await Promise.all(
      setups.map(async ({ lane, b, ports }) => {
        const relay = await b.relay({ MODEL_SAVE_PATH: modelPath, RELAY_MAX_INFLIGHT: '512' });
        await relay.putRoute(
          parseRoute({
            name: 'bench',
            policy: lane.policy,
            maxAttempts: s.route.maxAttempts ?? 3,
            settings: Object.fromEntries(Object.entries(s.route.settings ?? {}).map(([k, v]) => [k, String(v)])),
            endpoints: s.endpoints.map((e, i) => ({
              id: e.id,
              kind: 'HTTP',
              target: `http://127.0.0.1:${ports[i]}/in`,
              timeoutMs: s.route.timeoutMs ?? 1000,
            })),
          }),
        );
        const producer = await b.kafka.producer();
        // One message first: once it is delivered, the consumer group has joined.
        await producer.send('messages.normal', [{ value: { id: 'warmup', route: 'bench', payload: '{}' } }]);
        await until(() => relay.loop.counters.delivered + relay.loop.counters.deadLettered >= 1, 60_000);
        return { relay, producer };
      }),
    );
    for (const { worker } of setups) worker.postMessage({ type: 'start' });
    const rnd = prng(lanes[0]!.seed);
    const payload = 'x'.repeat(s.payloadBytes ?? 256);
    const t0 = Date.now();
    let produced = 0;
    let due = 0;
    let last = t0;
    while (Date.now() - t0 < s.durationS * 1000) {
      const now = Date.now();
      due += (rateAt(s, (now - t0) / 1000) * (now - last)) / 1000;
      last = now;
      const n = Math.floor(due - produced);
      if (n > 0) {
        // The producer's timestamp travels as a message header, which RelayCore forwards to the endpoint.
        const producedAt = Date.now();
        const batch = Array.from({ length: n }, (_, i) => ({
          key: s.keys ? `k${Math.floor(rnd() * s.keys)}` : null,
          value: {
            id: `m-${produced + i}`,
            route: 'bench',
            type: 'bench',
            payload,
            headers: { 'x-produced-at': String(producedAt) },
            createdAt: producedAt,
          },
        }));
        produced += n;
        await Promise.all(running.map(({ producer }) => producer.send('messages.normal', batch)));
      }
      await sleep(10);
    }
    return await Promise.all(
      running.map(async ({ relay }, i) => {
        const { lane, b } = setups[i]!;
        const handled = () => relay.loop.counters.delivered + relay.loop.counters.deadLettered;
        await until(() => handled() >= produced + 1, 120_000);
        const rt = relay.loop.routes.get('bench');
        const decisionUs = rt?.decisions ? (rt.decisionMs / rt.decisions) * 1000 : null;
        const modelVersion = relay.loop.scorerVersion();
        await relay.loop.flush();
        const counters = { ...relay.loop.counters };
        await relay.stop();
        const outcomes = (await b.readAll<DeliveryOutcome>('delivery.outcomes')).filter(
          (o) => o.messageId !== 'warmup',
        );
        const answered = await collect(setups[i]!.worker);
        return {
          scenario: s.name,
          policy: lane.policy,
          seed: lane.seed,
          produced,
          delivered: counters.delivered - 1,
          deadLettered: counters.deadLettered,
          outcomes,
          answered,
          decisionUs,
          modelVersion,
        };
      }),
    );
  } finally {
    await Promise.allSettled(
      setups.map(async ({ worker, b }) => {
        worker.postMessage({ type: 'stop' });
        await worker.terminate();
        await b.close();
      }),
    );
  }
}
