/**
 * Issue 16, item 9, the dashboard: the routes' last column stays inside its row (1400 and 390 px wide),
 * the success and p99 lines break over idle time instead of bridging it, a deleted route disappears,
 * and Models shows the holdout error beside the linear baseline, not the scaled validation loss.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcomeInput } from '../../schemas/types.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { type AppHarness, startApp } from '../helpers/relay.ts';

const MIN = 60_000;

describe('dashboard rendering', () => {
  let app: AppHarness;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const outcome = (route: string, endpoint: string, decidedAt: number, latencyMs: number): DeliveryOutcomeInput => ({
    messageId: `${route}-${decidedAt}`,
    route,
    endpoint,
    policy: 'p2c-peak-ewma',
    attempt: 1,
    status: 'DELIVERED',
    httpStatus: 200,
    latencyMs,
    messageType: 'order.created',
    payloadBytes: 100,
    decidedAt,
  });

  beforeAll(async () => {
    app = await startApp({ prefix: uniquePrefix('dashfix'), components: ['relay', 'gateway'] });
    const sink = `${app.base}/relaycore/sink`;
    for (const name of ['kept', 'doomed']) {
      const created = await app.api('POST', '/relaycore/routes', {
        name,
        endpoints: [
          { id: 'a-long-endpoint-name-that-does-not-fit', kind: 'HTTP', target: sink },
          { id: 'b', kind: 'HTTP', target: `${sink}?delayMs=5` },
        ],
      });
      expect(created.status).toBe(201);
    }
    // Traffic 9 to 8 minutes ago, then none until the last minute: an idle stretch of 7 minutes.
    const now = Date.now();
    const records = [];
    for (const [from, to] of [
      [now - 9 * MIN, now - 8 * MIN],
      [now - MIN, now - 5000],
    ] as const)
      for (let t = from; t < to; t += 2000)
        for (const route of ['kept', 'doomed'])
          records.push({ key: 'b', value: outcome(route, 'b', t, 20 + (t % 7)), timestamp: t });
    const producer = await app.kafka.producer();
    await producer.send('delivery.outcomes', records);
    const version = (name: string, at: number) => ({
      model: 'performance',
      version: name,
      parent: null,
      status: 'CHAMPION' as const,
      hyperparameters: {},
      dataSource: 'request',
      rows: 1000,
      backend: 'wasm',
      artifactPath: `performance/${name}`,
      createdAt: at,
      updatedAt: at,
    });
    await producer.send('model.registry', [
      {
        key: 'performance/v-dash',
        value: {
          ...version('v-dash', now),
          metrics: { val_loss: 0.0712 },
          evaluation: {
            holdoutRows: 200,
            network: { rmse: 0.0235 },
            linear: { rmse: 0.0281 },
            classic: null,
            champion: null,
          },
        },
      },
      // As versions were recorded before the typed evaluation: what the gate compared under key prefixes.
      {
        key: 'performance/v-old',
        value: {
          ...version('v-old', now - 60 * MIN),
          status: 'RETIRED',
          metrics: { holdout_rmse: 0.0301, baseline_rmse: 0.0342, holdout_rows: 200, val_loss: 0.08 },
        },
      },
    ]);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 1000 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${app.base.replace('/api/v2', '')}/`);
    await page.waitForSelector('[data-route="kept"] [data-endpoint="b"]');
    await page.waitForSelector('[data-route="doomed"] [data-endpoint="b"]');
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** Endpoint rows whose cells reach past the row, and how far the page scrolls sideways (run in the page). */
  const overflow = () =>
    page.evaluate<{ rows: number; spilled: string[]; pageWidth: number; view: number }>(`(() => {
      const rows = [...document.querySelectorAll('#routes .endpoint')];
      const spilled = rows.flatMap((row) => {
        const edge = row.getBoundingClientRect().right + 1;
        return [...row.children].filter((c) => c.getBoundingClientRect().right > edge).map((c) => c.textContent);
      });
      return { rows: rows.length, spilled, pageWidth: document.documentElement.scrollWidth, view: innerWidth };
    })()`);

  it('keeps every cell of a route row inside it, at 1400 and at 390 px', async () => {
    await page.waitForSelector('[data-route="kept"] [data-testid="score"]');
    const wide = await overflow();
    expect(wide.rows).toBeGreaterThanOrEqual(4);
    expect(wide.spilled).toEqual([]);
    expect(wide.pageWidth).toBeLessThanOrEqual(wide.view);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(500);
    const narrow = await overflow();
    expect(narrow.spilled).toEqual([]);
    expect(narrow.pageWidth).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('breaks the success and p99 lines over the idle stretch instead of drawing across it', async () => {
    await page.waitForTimeout(4000);
    // Columns of the delivery chart holding the success line's green and the p99 line's orange.
    const columns = await page.evaluate<{ width: number; success: number[]; p99: number[] }>(`(() => {
      const canvas = document.querySelector('#delivery-chart canvas');
      const { width, height } = canvas;
      const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
      const near = (i, [r, g, b]) =>
        pixels[i + 3] > 100 && Math.abs(pixels[i] - r) < 40 && Math.abs(pixels[i + 1] - g) < 40 && Math.abs(pixels[i + 2] - b) < 40;
      const colour = (rgb) => {
        const xs = [];
        for (let x = 0; x < width; x++)
          for (let y = 0; y < height; y++)
            if (near((y * width + x) * 4, rgb)) {
              xs.push(x);
              break;
            }
        return xs;
      };
      return { width, success: colour([63, 185, 80]), p99: colour([240, 136, 62]) };
    })()`);
    for (const xs of [columns.success, columns.p99]) {
      expect(xs.length).toBeGreaterThan(0);
      // The widest run of columns without the line, between its first and last column.
      let widest = 0;
      for (let i = 1; i < xs.length; i++) widest = Math.max(widest, xs[i]! - xs[i - 1]!);
      // 7 idle minutes of the 15 the chart spans: a drawn bridge would leave no such hole.
      expect(widest).toBeGreaterThan(columns.width * 0.25);
    }
  });

  it('shows the holdout error beside the linear baseline in Models, not the scaled validation loss', async () => {
    const cell = page.locator('[data-model="performance/v-dash"] [data-testid="holdout"]');
    await cell.waitFor();
    const text = await cell.textContent();
    expect(text).toBe('rmse 0.0235 · linear 0.0281');
    expect(await page.textContent('#models')).not.toContain('val_loss');
    // A version recorded with prefixed metrics reads the same: the decoder lifts them into the evaluation.
    const old = page.locator('[data-model="performance/v-old"] [data-testid="holdout"]');
    await old.waitFor();
    expect(await old.textContent()).toBe('rmse 0.0301 · linear 0.0342');
  });

  it('drops a deleted route, although its recent deliveries are still in the 5-minute window', async () => {
    expect((await app.api('DELETE', '/relaycore/routes/doomed')).status).toBe(204);
    await page.waitForSelector('[data-route="doomed"]', { state: 'detached', timeout: 20_000 });
    expect(await page.locator('[data-route="kept"]').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});
