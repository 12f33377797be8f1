import { mkdirSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { backfill, DemoGenerator, sendBatch } from '../../src/demo/demo.ts';
import { createGateway } from '../../src/gateway/index.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { freePort } from '../helpers/process.ts';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

describe('the dashboard in a real browser', () => {
  let runtime: Runtime;
  let base: string;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const gen = new DemoGenerator(11);

  beforeAll(async () => {
    const { brokers, registryUrl } = inject('kafka');
    const port = await freePort();
    const config = loadConfig({
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: uniquePrefix('dash'),
      PORT: String(port),
      HOST: '127.0.0.1',
      COMPONENTS: 'gateway',
    });
    runtime = await startRuntime(config, { gateway: createGateway });
    base = `http://127.0.0.1:${port}`;
    // Ten minutes of history: incidents, a breaker flap, finished training jobs and model versions.
    await backfill(runtime.kafka, gen, 600);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    await page.goto(`${base}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    if (runtime) {
      const { brokers, registryUrl } = inject('kafka');
      const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: runtime.kafka.catalog.prefix });
      const admin = await kafka.admin();
      await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(runtime.kafka.catalog.prefix)));
      await kafka.close();
    }
  });

  it('draws the history: service charts, anomalies, routes with breakers, training curves, models, actions', async () => {
    await page.waitForSelector('[data-service="checkout"][data-points]');
    const points = Number(await page.getAttribute('[data-service="checkout"]', 'data-points'));
    expect(points).toBeGreaterThan(100);
    expect(await page.locator('[data-testid="services"] .service canvas').count()).toBeGreaterThanOrEqual(4);
    await page.waitForSelector('[data-testid="anomalies"] li[data-id]');
    await page.waitForSelector('[data-testid="routes"] [data-route="orders"] [data-endpoint="orders-eu"]');
    await page.waitForSelector('[data-testid="models"] tr[data-model]');
    await page.waitForSelector('[data-testid="actions"] li[data-id]');
    await page.waitForSelector('[data-testid="training-chart"][data-points] canvas');
    expect(Number(await page.getAttribute('[data-testid="training-chart"]', 'data-points'))).toBeGreaterThan(0);
    await page.waitForSelector('[data-testid="feed"].ok');
    await page.waitForSelector('[data-testid="health"].ok');
  });

  it('shows live records as they are produced', async () => {
    const producer = await runtime.kafka.producer();
    const now = Date.now();
    await producer.send('metrics.samples', [
      {
        key: 'live-svc',
        value: {
          service: 'live-svc',
          timestamp: now,
          cpu_usage: 42,
          memory_usage: 40,
          network_latency: 12,
          error_rate: 0,
          request_count: 10,
        },
      },
    ]);
    await producer.send('anomalies', [
      {
        key: 'checkout',
        value: {
          id: 'inc-browser',
          service: 'checkout',
          state: 'OPEN',
          kind: 'spike',
          metrics: ['cpu_usage'],
          score: 0.93,
          explanation: 'CPU of checkout spiked (browser test)',
          startedAt: now - 30_000,
          at: now,
        },
      },
    ]);
    await producer.send('orchestrator.actions', [
      {
        key: 'checkout',
        value: {
          id: 'act-browser',
          kind: 'scale',
          target: 'checkout',
          reason: 'inc-browser: CPU of checkout spiked',
          status: 'PROPOSED',
          at: now,
        },
      },
    ]);
    await producer.send('ecosystem.events', [
      {
        key: 'relay',
        value: {
          id: 'ev-browser',
          component: 'relay',
          kind: 'breaker_state',
          severity: 'WARNING',
          subject: 'orders/orders-eu',
          message: 'breaker of orders-eu opened',
          data: { state: 'OPEN' },
          at: now,
        },
      },
    ]);
    for (let i = 0; i < 5; i++) await sendBatch(producer, gen.tick(Date.now() - (4 - i) * 1000));
    await page.waitForSelector('[data-service="live-svc"][data-points="1"] canvas');
    await page.waitForSelector('[data-testid="anomalies"] li[data-id="inc-browser"]');
    await page.waitForSelector('[data-service="checkout"].has-anomaly');
    await page.waitForSelector('[data-testid="actions"] li[data-id="act-browser"]');
    await page
      .locator('[data-route="orders"] [data-endpoint="orders-eu"] [data-testid="breaker"]', { hasText: 'OPEN' })
      .waitFor();
    expect(await page.textContent('[data-testid="anomalies"] li[data-id="inc-browser"]')).toContain(
      'CPU of checkout spiked',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForTimeout(600);
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });
});

describe('the dashboard with API_TOKEN set', () => {
  const token = 'dashboard-test-token-0123456789';
  let runtime: Runtime;
  let browser: BrowserContext;
  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    if (runtime) {
      const { brokers, registryUrl } = inject('kafka');
      const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: runtime.kafka.catalog.prefix });
      const admin = await kafka.admin();
      await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(runtime.kafka.catalog.prefix)));
      await kafka.close();
    }
  });

  it('connects with ?token= and then drops it from the address bar; without it the feed says why', async () => {
    const { brokers, registryUrl } = inject('kafka');
    const port = await freePort();
    const config = loadConfig({
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: uniquePrefix('dashtok'),
      PORT: String(port),
      HOST: '127.0.0.1',
      COMPONENTS: 'gateway',
      API_TOKEN: token,
    });
    runtime = await startRuntime(config, { gateway: createGateway });
    browser = await launchBrowser();
    const anonymous = await browser.newPage();
    await anonymous.goto(`http://127.0.0.1:${port}/`);
    await anonymous.locator('[data-testid="feed"].bad', { hasText: 'API_TOKEN' }).waitFor();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/?token=${token}`);
    await page.waitForSelector('[data-testid="feed"].ok');
    expect(page.url()).toBe(`http://127.0.0.1:${port}/`);
    const producer = await runtime.kafka.producer();
    await producer.send('metrics.samples', [
      {
        key: 'tok-svc',
        value: {
          service: 'tok-svc',
          timestamp: Date.now(),
          cpu_usage: 5,
          memory_usage: 5,
          network_latency: 5,
          error_rate: 0,
          request_count: 1,
        },
      },
    ]);
    await page.waitForSelector('[data-service="tok-svc"]');
  });
});
