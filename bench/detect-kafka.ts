/**
 * `npm run bench:detect-kafka`: samples per second through the real broker — produce N metric
 * samples (Avro) of many services, then time the stream processor (one instance, one process)
 * from its start until every sample is scored and committed. Next to it in the same run: a bare
 * consume-and-decode pass over the same topic, so the ratio shows what scoring, anomaly output
 * and snapshots add on top of kafkajs and Avro. Uses the test broker settings (KAFKA_BROKERS /
 * SCHEMA_REGISTRY_URL, default the local stack) and a throwaway topic prefix.
 */
import { randomBytes } from 'node:crypto';
import type { MetricSampleInput } from '../schemas/types.ts';
import { DEFAULT_ENGINE } from '../src/detect/engine.ts';
import { DetectLoop } from '../src/detect/loop.ts';
import { detectMetrics } from '../src/detect/metrics.ts';
import { KafkaConnection } from '../src/kafka/index.ts';
import { logger } from '../src/log/index.ts';
import { Random } from '../src/timeseries/random.ts';
import { writeResult } from './lib/result.ts';

const N = Number(process.argv[2] ?? 200_000);
const SERVICES = 500;
const brokers = (process.env.KAFKA_BROKERS || 'localhost:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL || 'http://localhost:8081/apis/ccompat/v7';
const prefix = `bench-${randomBytes(4).toString('hex')}.`;
const log = logger('bench');
const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix, clientId: 'automatrix-bench', log });
const admin = await kafka.admin();
await admin.ensureTopics(['metrics.samples', 'anomalies', 'detector.state', 'deadletter', 'ecosystem.events']);
await kafka.serde.registerAll(['metrics.samples', 'anomalies', 'detector.state', 'deadletter', 'ecosystem.events']);

try {
  const producer = await kafka.producer();
  const T0 = Date.UTC(2026, 0, 5);
  const rng = new Random(7);
  for (let start = 0; start < N; start += 5000) {
    const batch = [];
    for (let i = start; i < Math.min(N, start + 5000); i++) {
      const service = `svc-${i % SERVICES}`;
      const k = Math.floor(i / SERVICES);
      const day = Math.sin((2 * Math.PI * k) / 1440);
      const value: MetricSampleInput = {
        service,
        timestamp: T0 + k * 60_000,
        cpu_usage: 40 + 10 * day + rng.normal(),
        memory_usage: 50 + rng.normal(),
        network_latency: 80 + 5 * day + 3 * rng.normal(),
        error_rate: Math.max(0, 0.5 + 0.1 * rng.normal()),
        request_count: 1000 + 200 * day + 20 * rng.normal(),
      };
      batch.push({ key: service, value });
    }
    await producer.send('metrics.samples', batch);
  }

  const topic = kafka.catalog.name('metrics.samples');
  const admin2 = await kafka.admin();
  const groupA = `${prefix}bare`;
  const bareStart = performance.now();
  const bare = kafka.consumer({ groupId: groupA, maxWaitTimeMs: 100 });
  let decoded = 0;
  await bare.subscribe([topic], { fromBeginning: true });
  await new Promise<void>((resolve) => {
    void bare.run(async (b) => {
      for (const r of b.records) {
        await kafka.serde.decode('metrics.samples', r.value);
        decoded++;
      }
      if (decoded >= N) resolve();
    });
  });
  const bareSeconds = (performance.now() - bareStart) / 1000;
  await bare.disconnect();

  const groupB = `${prefix}detect`;
  const processor = new DetectLoop(kafka, log, {
    ...DEFAULT_ENGINE,
    groupId: groupB,
    snapshotIntervalMs: 60_000,
    maxServices: 10_000,
  });
  await processor.start();
  // The clock starts at the first committed batch (group join and state restore are not throughput).
  let start = 0;
  let remaining = N;
  for (;;) {
    const lag = await admin2.lag(groupB, [topic]);
    const committed = lag.some((p) => p.committed !== null);
    if (committed && !start) {
      start = performance.now();
      remaining = lag.reduce((n, p) => n + p.lag, 0);
    }
    if (lag.length && lag.every((p) => p.lag === 0 && p.committed !== null)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - start) / 1000;
  await processor.stop();
  const records = (await detectMetrics.incidents.get()).values.reduce((n, v) => n + v.value, 0);
  console.log(`  anomaly records produced: ${records}`);
  const detect = Math.round(remaining / seconds);
  const passthrough = Math.round(N / bareSeconds);
  console.log(`${N} samples of ${SERVICES} services through the broker:`);
  console.log(
    `  detect processor (decode, score 5 metrics + multivariate, produce anomalies, snapshot, commit): ${detect.toLocaleString()} samples/s`,
  );
  console.log(
    `  bare consume + Avro decode:                                                               ${passthrough.toLocaleString()} samples/s`,
  );
  writeResult(
    'detect-kafka',
    {
      detect_samples_per_s: detect,
      consume_decode_samples_per_s: passthrough,
      ratio: Number((detect / passthrough).toFixed(3)),
    },
    { samples: N, services: SERVICES },
  );
} finally {
  const names = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics(names).catch(() => undefined);
  await kafka.close();
}
