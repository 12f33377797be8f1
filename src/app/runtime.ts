import { readFileSync } from 'node:fs';
import { AccessPolicy, type ApiInstance, buildServer, type DependencyHealth } from '../api/index.ts';
import { type ComponentName, type Config, usesLocalStack } from '../config/index.ts';
import { KafkaConnection, SchemaRegistrationError } from '../kafka/index.ts';
import { type Logger, logger } from '../log/index.ts';
import { stackEndpoints, stackSettings, stackUp } from '../stack/index.ts';
import type { Component, ComponentContext } from './component.ts';
import { EcosystemEvents } from './events.ts';

export type ComponentFactory = (ctx: ComponentContext) => Component;

export interface Runtime {
  api: ApiInstance;
  kafka: KafkaConnection;
  components: Component[];
  /** Graceful stop: intake first, then components, then Kafka clients; bounded by SHUTDOWN_TIMEOUT_MS. */
  stop(): Promise<void>;
}

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Broker and registry addresses: the configured ones, or the local stack's (started if needed). */
export async function resolveEndpoints(
  config: Config,
  log: Logger,
): Promise<{ brokers: string[]; registryUrl: string }> {
  if (!usesLocalStack(config)) {
    return { brokers: config.KAFKA_BROKERS, registryUrl: config.SCHEMA_REGISTRY_URL! };
  }
  const settings = stackSettings(config);
  log.info({ dir: settings.dir }, 'KAFKA_BROKERS is unset: using the local stack');
  await stackUp(settings, (line) => log.info(line));
  const endpoints = stackEndpoints(settings);
  return { brokers: endpoints.brokers, registryUrl: config.SCHEMA_REGISTRY_URL ?? endpoints.registryUrl };
}

/** Creates missing topics, reports drift, and registers every value schema (fails on an incompatible change). */
export async function prepareKafka(kafka: KafkaConnection, log: Logger): Promise<void> {
  const admin = await kafka.admin();
  const report = await admin.ensureTopics();
  if (report.created.length) log.info({ topics: report.created }, 'created topics');
  for (const d of report.drift)
    log.warn(
      d,
      `topic ${d.topic} differs from its declaration: ${d.field} is ${d.actual}, declared ${d.declared} (left as is)`,
    );
  await kafka.serde.registerAll();
  const swept = await admin.sweepPrivateGroups(kafka.catalog.prefix).catch(() => []);
  if (swept.length) log.info({ groups: swept }, 'deleted private consumer groups that stopped processes left behind');
  log.info({ topics: kafka.catalog.keys().length }, 'topics and schemas ready');
}

/** Retries startup while the broker or registry is still coming up (containers start in any order). */
async function untilReady(step: () => Promise<void>, log: Logger, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (err instanceof SchemaRegistrationError || Date.now() > deadline) throw err;
      log.warn({ err: (err as Error).message }, 'waiting for Kafka and the schema registry');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function timed(check: () => Promise<unknown>): Promise<DependencyHealth> {
  const start = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round(performance.now() - start) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - start), detail: (err as Error).message };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  const timeout = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref();
  });
  return Promise.race([p, timeout]);
}

/** Starts AutoMatrix: Kafka, the selected components and the HTTP server. */
export async function startRuntime(
  config: Config,
  factories: Partial<Record<ComponentName, ComponentFactory>>,
): Promise<Runtime> {
  const log = logger('app');
  if (config.ENVIRONMENT === 'production' && !AccessPolicy.fromConfig(config).enabled)
    log.warn(
      'no API token is configured in production (API_TOKEN, API_TOKENS): every mutating endpoint and the WebSocket are open to anyone who can reach the port',
    );
  const endpoints = await resolveEndpoints(config, log);
  const kafka = new KafkaConnection({
    brokers: endpoints.brokers,
    registryUrl: endpoints.registryUrl,
    clientId: config.KAFKA_CLIENT_ID,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    client: config.KAFKA_CLIENT,
    log: logger('kafka'),
  });
  await untilReady(() => prepareKafka(kafka, log), log);
  const events = new EcosystemEvents(kafka, logger('events'));
  const components: Component[] = [];
  for (const name of config.COMPONENTS as ComponentName[]) {
    const factory = factories[name];
    if (!factory) {
      log.warn({ component: name }, `component ${name} is not part of this build; skipped`);
      continue;
    }
    components.push(factory({ config, kafka, log: logger(name), events }));
  }
  const admin = await kafka.admin();
  const api = await buildServer({
    config,
    log: logger('api'),
    version: VERSION,
    components,
    dependencies: {
      broker: () => timed(() => withTimeout(admin.describeCluster(), 2000)),
      registry: () =>
        timed(async () => {
          const res = await fetch(`${endpoints.registryUrl}/subjects`, { signal: AbortSignal.timeout(2000) });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
        }),
    },
  });
  for (const c of components) {
    await c.start();
    void events.publish({
      component: c.name,
      kind: 'component_status',
      severity: 'INFO',
      subject: c.name,
      message: `${c.name} started`,
      data: {},
    });
  }
  await api.listen({ port: config.PORT, host: config.HOST });
  log.info(
    { port: config.PORT, components: components.map((c) => c.name) },
    `AutoMatrix ${VERSION} listening on http://localhost:${config.PORT}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const deadline = setTimeout(() => {
        log.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      deadline.unref();
      await api.close();
      await Promise.allSettled([...components].reverse().map((c) => c.stop()));
      await kafka.close();
      clearTimeout(deadline);
      log.info('stopped');
    })());
  return { api, kafka, components, stop };
}
