/**
 * Child process of bench/gateway.ts: writes metric-sample-like JSON records at a fixed rate, in
 * 5 ms ticks, to the topic of the server under test. Each value carries the step (`bstep`) and the
 * time it was handed to the producer (`sentAt`, epoch ms): the clients measure latency from there.
 * Answers how many it wrote and over how long really (from the first send to the last ack).
 */
import { KafkaConnection } from '../src/kafka/index.ts';

const [brokers, registryUrl, prefix] = process.argv.slice(2) as [string, string, string];
const kafka = new KafkaConnection({
  brokers: brokers.split(','),
  registryUrl,
  topicPrefix: prefix,
  clientId: 'bench-producer',
});

const TICK_MS = 5;

async function produce(topic: string, rate: number, seconds: number, step: number) {
  const producer = await kafka.producer();
  const total = Math.round(rate * seconds);
  const started = Date.now();
  let sent = 0;
  let inflight: Promise<unknown>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.round(((Date.now() - started) / 1000) * rate));
    if (due > sent) {
      const sentAt = Date.now();
      const records = [];
      for (let n = sent; n < due; n++)
        records.push({
          key: `svc-${n % 64}`,
          value: `{"bstep":${step},"sentAt":${sentAt},"service":"svc-${n % 64}","cpu_usage":${n % 100},"memory_usage":50.5,"network_latency":12.25,"error_rate":0,"request_count":${n}}`,
        });
      inflight.push(producer.sendRaw(topic, records));
      sent = due;
      if (inflight.length > 50) {
        await Promise.all(inflight);
        inflight = [];
      }
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(inflight);
  return { sent, windowMs: Date.now() - started };
}

process.on(
  'message',
  (msg: { id: number; cmd: string; topic?: string; rate?: number; seconds?: number; step?: number }) => {
    void (async () => {
      if (msg.cmd === 'ready') {
        await kafka.producer();
        process.send!({ id: msg.id });
      } else if (msg.cmd === 'produce') {
        process.send!({ id: msg.id, ...(await produce(msg.topic!, msg.rate!, msg.seconds!, msg.step!)) });
      } else if (msg.cmd === 'exit') {
        await kafka.close();
        process.exit(0);
      }
    })();
  },
);
