/** Issue 4 end to end: a training job's per-epoch progress reaches a WebSocket client while the job runs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway/index.ts';
import { createNeuroWeaver } from '../../src/ml/index.ts';
import { syntheticRows } from '../../src/ml/synthetic.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TestClient } from '../helpers/ws.ts';

describe('training progress over the WebSocket', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(
      { COMPONENTS: 'neuroweaver,gateway', ML_TUNE_TRIALS: '2', ML_TUNE_MAX_EPOCHS: '60', ML_RETRAIN_INTERVAL_MS: '0' },
      { neuroweaver: createNeuroWeaver, gateway: createGateway },
    );
  });
  afterAll(async () => app?.close());

  it('streams epoch events of the running job to an ecosystem subscriber before the job finishes', async () => {
    const client = await TestClient.open(`${app.base.replace('http', 'ws')}/api/v2/ws/ecosystem`);
    await client.until((c) => c.of('subscribed').length >= 4, 'the feed subscriptions');
    const res = await fetch(`${app.base}/api/v2/neuroweaver/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: syntheticRows(4000, { seed: 7 }) }),
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };

    const epochs = await client.until(
      (c) => {
        const events = c
          .records('training.events')
          .map(
            (r) => r.value as { jobId: string; kind: string; epoch: number | null; metrics: Record<string, number> },
          );
        const mine = events.filter((e) => e.jobId === jobId && e.kind === 'EPOCH');
        return mine.length >= 3 ? mine : undefined;
      },
      'three epoch events of the job',
      90_000,
    );
    const receivedAt = Date.now();
    expect(epochs[0]!.metrics).toHaveProperty('loss');
    expect(epochs[0]!.metrics).toHaveProperty('val_loss');
    await client.until(
      (c) =>
        c
          .records('training.events')
          .some((r) => (r.value as { jobId: string }).jobId === jobId && r.value?.kind === 'JOB_FINISHED'),
      'the job to finish',
      180_000,
    );
    const kinds = client
      .records('training.events')
      .filter((r) => (r.value as { jobId: string }).jobId === jobId)
      .map((r) => r.value!.kind as string);
    expect(kinds.indexOf('EPOCH')).toBeLessThan(kinds.indexOf('JOB_FINISHED'));
    // The epochs reached the client while the job was still running.
    const job = (await (await fetch(`${app.base}/api/v2/neuroweaver/jobs/${jobId}`)).json()) as {
      finishedAt: number | null;
      job?: { finishedAt: number | null };
    };
    const finishedAt = job.finishedAt ?? job.job?.finishedAt;
    expect(finishedAt).toBeGreaterThan(0);
    expect(receivedAt).toBeLessThanOrEqual(finishedAt!);
    client.close();
  }, 240_000);
});
