/**
 * Issue 14: model artifacts travel with the version on Kafka. A second NeuroWeaver (or a RelayCore)
 * whose MODEL_SAVE_PATH is empty serves the champion another instance trained: it fetches the
 * chunks from model.artifacts, checks them against the registry record, and caches them.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../src/log/index.ts';
import { syntheticRows } from '../../src/ml/synthetic.ts';
import { followChampion } from '../../src/shared/index.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';
import { finished, type Instance, NEUROWEAVER_TOPICS, readUntil, startNeuroWeaver } from '../helpers/neuroweaver.ts';

describe('model artifacts on Kafka', () => {
  let t: TestKafka;
  const roots: string[] = [];
  const instances: Instance[] = [];
  let champion = '';
  const root = () => {
    const dir = mkdtempSync(join(tmpdir(), 'nw-artifacts-'));
    roots.push(dir);
    return dir;
  };

  beforeAll(async () => {
    t = await testKafka(NEUROWEAVER_TOPICS, 'nw-artifacts');
    const trainer = await startNeuroWeaver(t.kafka, { MODEL_SAVE_PATH: root() });
    instances.push(trainer);
    const res = await trainer.api.inject({
      method: 'POST',
      url: '/api/v2/neuroweaver/train',
      // Little noise and long training: a first version must beat the linear baseline to become champion.
      payload: { data: syntheticRows(600, { seed: 3, noise: 0.005 }), seed: 1, budget: { trials: 2, maxEpochs: 200 } },
    });
    const job = await finished(trainer.api, res.json<{ jobId: string }>().jobId);
    expect(job.result?.status).toBe('CHAMPION');
    champion = job.result!.version;
  });
  afterAll(async () => {
    for (const i of instances) await i.stop();
    await t?.cleanup();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('publishes the chunks before the registry record that counts them', async () => {
    const records = await readUntil(t.kafka, t.kafka.catalog.name('model.artifacts'), (r) => r.length > 0);
    const chunk = (await t.kafka.serde.decode('model.artifacts', records[0]!.value)).value;
    expect(chunk).toMatchObject({ model: 'performance', version: champion, index: 0 });
    expect(records[0]!.key?.toString()).toBe(`performance/${champion}/0`);
  });

  it('serves the champion on a second instance whose MODEL_SAVE_PATH is empty, and caches it there', async () => {
    const empty = root();
    const second = await startNeuroWeaver(t.kafka, { MODEL_SAVE_PATH: empty, ENABLE_ML_TRAINING: 'false' });
    instances.push(second);
    const { performance_score: _, ...row } = syntheticRows(1, { seed: 8 })[0]!;
    const res = await second.api.inject({ method: 'POST', url: '/api/v2/neuroweaver/predict', payload: row });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ version: string }>().version).toBe(champion);
    expect(readdirSync(join(empty, 'performance', champion)).sort()).toEqual([
      'model.json',
      'state.json',
      'weights.bin',
    ]);
  });

  it('hands a follower (RelayCore’s way of serving a model) a folder with the champion’s files', async () => {
    const empty = root();
    const dirs: string[] = [];
    const follower = await followChampion(t.kafka, 'performance', (_v, dir) => void dirs.push(dir), {
      saveRoot: empty,
      log: logger('test'),
    });
    try {
      expect(dirs).toEqual([join(empty, 'performance', champion)]);
      expect(existsSync(join(dirs[0]!, 'weights.bin'))).toBe(true);
    } finally {
      await follower.stop();
    }
  });
});
