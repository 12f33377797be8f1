/**
 * Issue 14: closed-loop actions on the real broker. A live action RelayCore carries out shows
 * EXECUTED only after RelayCore's answer on action.results, then VERIFIED when the metric
 * recovered, or INEFFECTIVE (and rolled back) when it did not; nobody answering makes it FAILED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionResult, Anomaly, MetricSampleInput, OrchestratorAction } from '../../schemas/index.ts';
import type { ActionView } from '../../src/orchestrator/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { follow, relayEnv, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

const VERIFY_AFTER_MS = 2500;

describe('closed-loop orchestrator actions', () => {
  let app: TestApp;
  let ep: TestEndpoint;
  let results: Awaited<ReturnType<typeof follow>>;

  beforeAll(async () => {
    ep = await testEndpoint();
    const prefix = uniquePrefix('loop');
    app = await startTestApp({
      ...relayEnv(prefix),
      KAFKA_TOPIC_PREFIX: prefix,
      COMPONENTS: 'relay,orchestrator',
      ORCH_DRY_RUN: 'false',
      ORCH_ENDPOINTS: 'checkout=loop/e0,search=loop/e1,ghost=loop/missing',
      ORCH_VERIFY_AFTER_MS: String(VERIFY_AFTER_MS),
      ORCH_ACTION_ANSWER_MS: '4000',
      ORCH_TRAIN_WINDOW_MS: '0',
    });
    const res = await fetch(`${app.base}/api/v2/relaycore/routes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'loop',
        policy: 'round-robin',
        endpoints: [
          { id: 'e0', kind: 'HTTP', target: ep.url },
          { id: 'e1', kind: 'HTTP', target: ep.url },
        ],
      }),
    });
    expect(res.status).toBe(201);
    results = await follow(app.runtime.kafka, 'action.results');
  });
  afterAll(async () => {
    await results?.stop();
    await app?.close();
    await ep?.close();
  });

  const kafka = () => app.runtime.kafka;
  const sample = (service: string, cpu: number): MetricSampleInput => ({
    service,
    timestamp: Date.now(),
    cpu_usage: cpu,
    memory_usage: 40,
    network_latency: 80,
    error_rate: 0.5,
    request_count: 100,
    replicas: null,
  });
  const anomaly = (id: string, service: string): Anomaly => ({
    id,
    service,
    state: 'OPEN',
    kind: 'level_shift',
    metrics: ['cpu_usage'],
    score: 0.95,
    contributions: [{ metric: 'cpu_usage', value: 97, expectedLow: 20, expectedHigh: 60, score: 0.95, share: 1 }],
    explanation: 'cpu_usage jumped to 97% (expected 20-60%)',
    startedAt: Date.now(),
    at: Date.now(),
    endedAt: null,
  });
  const views = async (service: string) => {
    const res = await fetch(`${app.base}/api/v2/ai/actions?service=${service}`);
    return ((await res.json()) as { actions: ActionView[] }).actions;
  };
  const drainOf = async (service: string) => (await views(service)).find((v) => v.action.kind === 'drain_endpoint');
  const answers = async () =>
    Promise.all(results.records.map(async (r) => (await kafka().serde.decode('action.results', r.value)).value));

  async function incident(service: string): Promise<ActionView> {
    const producer = await kafka().producer();
    await producer.send('metrics.samples', [{ key: service, value: sample(service, 97) }]);
    await producer.send('anomalies', [{ key: service, value: anomaly(`inc-${service}`, service) }]);
    await until(async () => (await drainOf(service))?.action.status === 'EXECUTED', `${service}: drain EXECUTED`);
    return (await drainOf(service))!;
  }

  it('records EXECUTED from RelayCore’s answer, then VERIFIED once the metric is back in its expected range', async () => {
    const executed = await incident('checkout');
    const answer = (await answers()).find((a) => a.actionId === executed.action.id) as ActionResult;
    expect(answer).toMatchObject({ executor: 'relay', status: 'EXECUTED', target: 'loop/e0' });
    // The EXECUTED step carries RelayCore's own account, and comes after it.
    expect(executed.action).toMatchObject({ executor: 'relay', detail: answer.detail, dryRun: false });
    expect(executed.action.at).toBeGreaterThanOrEqual(answer.at);
    expect(executed.history.map((h) => h.status)).toEqual(['PROPOSED', 'EXECUTED']);
    expect(app.runtime.components.length).toBe(2);

    await (await kafka().producer()).send('metrics.samples', [{ key: 'checkout', value: sample('checkout', 41) }]);
    await until(async () => (await drainOf('checkout'))?.action.status === 'VERIFIED', 'drain VERIFIED', 30_000);
    const verified = (await drainOf('checkout'))!;
    expect(verified.history.map((h) => h.status)).toEqual(['PROPOSED', 'EXECUTED', 'VERIFIED']);
    expect(verified.action.detail).toMatch(/cpu_usage back to 41/);
  });

  it('records INEFFECTIVE when the metric did not recover, and rolls the drain back with a restore', async () => {
    await incident('search');
    await (await kafka().producer()).send('metrics.samples', [{ key: 'search', value: sample('search', 95) }]);
    await until(async () => (await drainOf('search'))?.action.status === 'INEFFECTIVE', 'drain INEFFECTIVE', 30_000);
    const drain = (await drainOf('search'))!;
    expect(drain.action.detail).toMatch(/cpu_usage still 95/);
    const restore = async () =>
      (await views('search')).find((v) => v.action.kind === 'restore_endpoint' && v.action.cause === 'rollback');
    await until(async () => (await restore())?.action.status === 'VERIFIED', 'rollback restore carried out');
    expect((await restore())!.action.params.rollbackOf).toBe(drain.action.id);
    expect((await restore())!.history.map((h) => h.status)).toEqual(['PROPOSED', 'EXECUTED', 'VERIFIED']);
  });

  it('records FAILED with RelayCore’s reason when it cannot carry an action out', async () => {
    const producer = await kafka().producer();
    await producer.send('metrics.samples', [{ key: 'ghost', value: sample('ghost', 97) }]);
    await producer.send('anomalies', [{ key: 'ghost', value: anomaly('inc-ghost', 'ghost') }]);
    await until(async () => (await drainOf('ghost'))?.action.status === 'FAILED', 'ghost drain FAILED');
    const failed = (await drainOf('ghost'))!;
    expect(failed.action).toMatchObject({ executor: 'relay', error: 'no endpoint loop/missing on this RelayCore' });
  });

  it('writes every step to orchestrator.actions under the action id', async () => {
    const audit = await follow(kafka(), 'orchestrator.actions');
    try {
      const id = (await drainOf('checkout'))!.action.id;
      const steps = async () =>
        (
          await Promise.all(
            audit.records.map(
              async (r) => (await kafka().serde.decode('orchestrator.actions', r.value)).value as OrchestratorAction,
            ),
          )
        ).filter((a) => a.id === id);
      await until(async () => (await steps()).length >= 3, 'three audit records');
      expect((await steps()).map((a) => a.status)).toEqual(['PROPOSED', 'EXECUTED', 'VERIFIED']);
    } finally {
      await audit.stop();
    }
  });
});
