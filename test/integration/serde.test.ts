import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchema, type MetricSample, type ModelVersion } from '../../schemas/index.ts';
import { DecodeError, SchemaRegistrationError, Serde, TopicCatalog } from '../../src/kafka/index.ts';
import { consumeN, type TestKafka, testKafka } from '../helpers/kafka.ts';

const sample = (service: string, i: number): MetricSample => ({
  service,
  timestamp: 1764237600000 + i,
  cpu_usage: 50 + i,
  memory_usage: 40,
  network_latency: 120,
  error_rate: 1,
  request_count: 1000,
  performance_score: 0.9,
  replicas: 3,
  extra: { queue_depth: i },
});

/** Registers a schema version under a subject directly, as an earlier AutoMatrix would have; resolves its id. */
async function registerSchema(registryUrl: string, subject: string, schema: object): Promise<number> {
  const res = await fetch(`${registryUrl}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: number }).id;
}

describe('serde through the real broker and registry', () => {
  let t: TestKafka;
  beforeAll(async () => {
    t = await testKafka(['metrics.samples', 'deadletter'], 'serde');
  });
  afterAll(async () => t?.cleanup());

  it('round-trips Avro (Confluent wire format) and plain JSON values on one topic', async () => {
    const { kafka } = t;
    const producer = await kafka.producer();
    await producer.send('metrics.samples', [{ key: 'checkout', value: sample('checkout', 1) }]);
    const json = {
      service: 'search',
      timestamp: 1764237600123,
      cpu_usage: 10,
      memory_usage: 20,
      network_latency: 30,
      error_rate: 0,
      request_count: 5,
    };
    await producer.sendRaw(kafka.catalog.name('metrics.samples'), [{ key: 'search', value: JSON.stringify(json) }]);

    const records = await consumeN(kafka, kafka.catalog.name('metrics.samples'), 2);
    const decoded = await Promise.all(records.map((r) => kafka.serde.decode('metrics.samples', r.value)));
    const avro = decoded.find((d) => d.format === 'avro')!;
    const plain = decoded.find((d) => d.format === 'json')!;
    expect(avro.value).toEqual(sample('checkout', 1));
    expect(avro.schemaId).toBe(kafka.serde.schemaId('metrics.samples'));
    const avroRecord = records.find((r) => r.key?.toString() === 'checkout')!;
    expect(avroRecord.value![0]).toBe(0);
    expect(avroRecord.value!.readInt32BE(1)).toBe(avro.schemaId);
    expect(plain.value).toEqual({ ...json, performance_score: null, replicas: null, extra: {} });
  });

  it('gives typed, non-retriable errors for garbage, truncated Avro and unknown schema ids', async () => {
    const { kafka } = t;
    const good = kafka.serde.encode('metrics.samples', sample('a', 1));
    const truncated = good.subarray(0, good.length - 4);
    const unknownId = Buffer.from(good);
    unknownId.writeInt32BE(987654321, 1);
    const cases: [Buffer, string][] = [
      [Buffer.from('{"service": 1'), 'invalid_json'],
      [truncated, 'invalid_avro'],
      [unknownId, 'unknown_schema'],
    ];
    for (const [buf, reason] of cases) {
      const err = await kafka.serde.decode('metrics.samples', buf).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).reason).toBe(reason);
      expect((err as DecodeError).retriable).toBe(false);
    }
  });

  it('reads values written with an older compatible schema through a resolver', async () => {
    const { kafka, prefix } = t;
    const subject = `${prefix}deadletter-value`;
    // Register an older version of the dead-letter schema (without the optional fields added since) ...
    const older = {
      type: 'record',
      name: 'DeadLetter',
      namespace: 'dev.automatrix',
      fields: [
        { name: 'sourceTopic', type: 'string' },
        { name: 'sourcePartition', type: 'int' },
        { name: 'sourceOffset', type: 'long' },
        { name: 'reason', type: 'string' },
        { name: 'error', type: 'string' },
        { name: 'failedAt', type: 'long' },
      ],
    };
    const id = await registerSchema(kafka.serde.registryUrl, subject, older);
    const avsc = (await import('avsc')).default;
    const body = avsc.Type.forSchema(older as never).toBuffer({
      sourceTopic: 'x',
      sourcePartition: 1,
      sourceOffset: 7,
      reason: 'decode_error',
      error: 'bad',
      failedAt: 5,
    });
    const header = Buffer.alloc(5);
    header.writeInt32BE(id, 1);
    const decoded = await kafka.serde.decode('deadletter', Buffer.concat([header, body]));
    expect(decoded.value).toMatchObject({
      sourceTopic: 'x',
      sourceOffset: 7,
      reason: 'decode_error',
      attempts: 0,
      component: 'relay',
      key: null,
    });
  });

  it('registers the typed evaluation over the prefixed-metrics model-version schema, and lifts old records', async () => {
    const { kafka } = t;
    const prefix = `t-upgrade-${randomUUID().slice(0, 8)}.`;
    const subject = `${prefix}model.registry-value`;
    // The schema as it was before `evaluation`: what the registry of an existing deployment holds.
    const current = loadSchema('model-version') as { fields: { name: string }[] };
    const older = { ...current, fields: current.fields.filter((f) => f.name !== 'evaluation') };
    const id = await registerSchema(kafka.serde.registryUrl, subject, older);
    const serde = new Serde(kafka.serde.registryUrl, new TopicCatalog(prefix));
    try {
      // BACKWARD compatible: the registry takes the new schema as the next version of the subject.
      expect(await serde.register('model.registry')).not.toBe(id);
      const avsc = (await import('avsc')).default;
      const body = avsc.Type.forSchema(older as never).toBuffer({
        model: 'routing',
        version: 'v2',
        parent: 'v1',
        status: 'REJECTED',
        metrics: { holdout_combined_loss: 0.5, classic_combined_loss: 0.4, champion_combined_loss: 0.45, trials: 1 },
        hyperparameters: {},
        dataSource: 'automatrix.delivery.outcomes',
        dataFrom: null,
        dataTo: null,
        rows: 1000,
        backend: 'wasm',
        artifactPath: 'routing/v2',
        createdAt: 1,
        updatedAt: 2,
        note: 'does not beat the classic baseline',
        replaced: null,
        artifacts: null,
      });
      const header = Buffer.alloc(5);
      header.writeInt32BE(id, 1);
      const { value } = await serde.decode('model.registry', Buffer.concat([header, body]));
      expect(value).toMatchObject<Partial<ModelVersion>>({
        version: 'v2',
        metrics: { trials: 1 },
        evaluation: {
          holdoutRows: 0,
          network: { combined_loss: 0.5 },
          linear: null,
          classic: { combined_loss: 0.4 },
          champion: { version: 'v1', metrics: { combined_loss: 0.45 }, error: null },
        },
      });
    } finally {
      await serde.deleteSubject(subject).catch(() => undefined);
    }
  });

  it('fails registration of an incompatible change with the registry reason', async () => {
    const { kafka } = t;
    const prefix = `t-incompat-${randomUUID().slice(0, 8)}.`;
    const subject = `${prefix}metrics.samples-value`;
    const old = {
      type: 'record',
      name: 'MetricSample',
      namespace: 'dev.automatrix',
      fields: [{ name: 'service', type: 'int' }],
    };
    await registerSchema(kafka.serde.registryUrl, subject, old);
    const serde = new Serde(kafka.serde.registryUrl, new TopicCatalog(prefix));
    const err = await serde.register('metrics.samples').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistrationError);
    expect((err as Error).message).toContain(subject);
    expect((err as Error).message).toMatch(/incompatib/i);
  });
});
