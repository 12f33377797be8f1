/**
 * Child process of bench/gateway.ts: produces metric samples at a fixed rate, in 10 ms ticks, each
 * value carrying its send time (`timestamp`) and step marker (`service`). Avro to the gateway's
 * topic; the same values as JSON text to the bare broadcast's topic.
 */
import { KafkaConnection } from '../src/kafka/index.ts';

const [brokers, registryUrl, prefix, bareTopic] = process.argv.slice(2) as [string, string, string, string];
const kafka = new KafkaConnection({
  brokers: brokers.split(','),
  registryUrl,
  topicPrefix: prefix,
  clientId: 'bench-producer',
});

const TICK_MS = 10;

async function produce(rate: number, seconds: number, stepNo: number, target: 'gateway' | 'bare'): Promise<number> {
  const producer = await kafka.producer();
  const total = Math.round(rate * seconds);
  const started = Date.now();
  let sent = 0;
  let inflight: Promise<unknown>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.round(((Date.now() - started) / 1000) * rate));
    const n = due - sent;
    if (n > 0) {
      const now = Date.now();
      const values = Array.from({ length: n }, (_, i) => ({
        service: `bench-${stepNo}`,
        timestamp: now,
        cpu_usage: (sent + i) % 100,
        memory_usage: 50,
        network_latency: 12.5,
        error_rate: 0,
        request_count: sent + i,
      }));
      const keyed = values.map((v, i) => ({ key: `k${(sent + i) % 64}`, value: v }));
      inflight.push(
        target === 'gateway'
          ? producer.send('metrics.samples', keyed)
          : producer.sendRaw(
              bareTopic,
              keyed.map((r) => ({ key: r.key, value: JSON.stringify(r.value) })),
            ),
      );
      sent = due;
      if (inflight.length > 50) {
        await Promise.all(inflight);
        inflight = [];
      }
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(inflight);
  return sent;
}

process.on(
  'message',
  (msg: { cmd: string; rate?: number; seconds?: number; step?: number; target?: 'gateway' | 'bare' }) => {
    void (async () => {
      if (msg.cmd === 'ready') {
        await kafka.serde.register('metrics.samples');
        await kafka.producer();
        process.send!({ ok: true });
      } else if (msg.cmd === 'produce') {
        const sent = await produce(msg.rate!, msg.seconds!, msg.step!, msg.target!);
        process.send!({ ok: true, sent });
      } else if (msg.cmd === 'exit') {
        await kafka.close();
        process.exit(0);
      }
    })();
  },
);
