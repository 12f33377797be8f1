import { readFileSync } from 'node:fs';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../../schemas/index.ts';
import { expectedFiles } from '../../scripts/generate.ts';
import { TOPIC_KEYS, TOPICS, topicConfigs } from '../../topics/index.ts';

describe('topics and schemas as code', () => {
  it.each(TOPIC_KEYS)('%s has a valid Avro schema and a coherent declaration', (key) => {
    const decl = TOPICS[key];
    const type = avsc.Type.forSchema(loadSchema(decl.schema) as avsc.Schema);
    expect(type.typeName).toBe('record');
    expect(decl.partitions).toBeGreaterThan(0);
    if (decl.cleanupPolicy === 'compact') expect(decl.retentionMs).toBe(-1);
    expect(topicConfigs(decl)['cleanup.policy']).toBe(decl.cleanupPolicy);
  });

  it('co-partitions the detector state with the metric samples it snapshots', () => {
    expect(TOPICS['detector.state'].partitions).toBe(TOPICS['metrics.samples'].partitions);
  });

  it('generated files (schemas/types.ts, README tables) are up to date: run npm run gen', () => {
    for (const [path, content] of expectedFiles()) {
      expect(readFileSync(path, 'utf8'), `${path} is stale: run npm run gen`).toBe(content);
    }
  });
});
