/**
 * `npm run demo`: writes realistic records to the topics the dashboard shows (metric samples with
 * incidents and their anomalies, delivery outcomes with a flapping endpoint and its breaker,
 * training jobs with their model versions, orchestrator actions, ecosystem events), first a
 * back-filled history, then live. Also used by the browser test, seeded so runs repeat.
 */
import { randomUUID } from 'node:crypto';
import type {
  AnomalyInput,
  DeliveryOutcomeInput,
  EcosystemEventInput,
  MetricSampleInput,
  ModelVersionInput,
  OrchestratorActionInput,
  Route,
  TrainingEventInput,
} from '../../schemas/types.ts';
import { type EcosystemEventSpec, ecosystemEvent } from '../app/events.ts';
import type { KafkaConnection, TypedProducer } from '../kafka/index.ts';
import { Random } from '../timeseries/random.ts';

export type Batch = {
  metrics: { key: string; value: MetricSampleInput; timestamp: number }[];
  anomalies: { key: string; value: AnomalyInput; timestamp: number }[];
  outcomes: { key: string; value: DeliveryOutcomeInput; timestamp: number }[];
  training: { key: string; value: TrainingEventInput; timestamp: number }[];
  models: { key: string; value: ModelVersionInput; timestamp: number }[];
  actions: { key: string; value: OrchestratorActionInput; timestamp: number }[];
  events: { key: string; value: EcosystemEventInput; timestamp: number }[];
};

export const emptyBatch = (): Batch => ({
  metrics: [],
  anomalies: [],
  outcomes: [],
  training: [],
  models: [],
  actions: [],
  events: [],
});

export const SERVICES = [
  { name: 'checkout', cpu: 45, mem: 62, latency: 80, rps: 220 },
  { name: 'payments', cpu: 35, mem: 55, latency: 120, rps: 140 },
  { name: 'search', cpu: 58, mem: 70, latency: 45, rps: 480 },
  { name: 'inventory', cpu: 28, mem: 48, latency: 60, rps: 90 },
];

export const ROUTES = [
  {
    route: 'orders',
    endpoints: [
      { id: 'orders-eu', latency: 40 },
      { id: 'orders-us', latency: 85 },
      { id: 'orders-ap', latency: 160 },
    ],
  },
  {
    route: 'notifications',
    endpoints: [
      { id: 'email-primary', latency: 120 },
      { id: 'email-fallback', latency: 260 },
    ],
  },
];

/**
 * The demo's routes as RelayCore records them (relay.routes), so that a RelayCore of the same
 * deployment knows the routes the demo's outcomes name; their endpoints are the built-in sink,
 * answering as slowly as the demo's endpoints.
 */
export function demoRoutes(apiBase: string, now = Date.now()): { key: string; value: Route }[] {
  return ROUTES.map((r) => ({
    key: r.route,
    value: {
      name: r.route,
      policy: 'learned',
      endpoints: r.endpoints.map((e) => ({
        id: e.id,
        kind: 'HTTP' as const,
        target: `${apiBase}/api/v2/relaycore/sink?delayMs=${e.latency}`,
        weight: 1,
        timeoutMs: 2000,
        headers: {},
      })),
      maxAttempts: 3,
      settings: {},
      updatedAt: now,
    },
  }));
}

/** The same seed gives the same demo. */
function prng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

interface Incident {
  id: string;
  service: string;
  metric: 'cpu_usage' | 'network_latency';
  startedAt: number;
  endsAt: number;
  opened: boolean;
}

interface Flap {
  route: string;
  endpoint: string;
  openedAt: number;
  state: 'OPEN' | 'HALF_OPEN';
}

interface Job {
  id: string;
  trial: number;
  epoch: number;
  startedAt: number;
  best: number;
}

const TRIALS = 3;
const EPOCHS = 12;

export class DemoGenerator {
  private readonly rand: () => number;
  private incidents: Incident[] = [];
  private flap: Flap | undefined;
  private job: Job | undefined;
  private lastJobAt = 0;
  private version = 0;
  private champion: ModelVersionInput | undefined;
  private nextIncidentAt = 0;
  private nextFlapAt = 0;
  private step = 0;

  constructor(seed = 7) {
    this.rand = prng(seed);
  }

  private gauss(): number {
    const u = Math.max(1e-9, this.rand());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rand());
  }

  /** The records of one second of the demo world, at `now`. */
  tick(now: number, outcomesPerSecond = 12): Batch {
    const b = emptyBatch();
    this.step++;
    if (this.step === 1) this.announceComponents(b, now);
    this.incidentsAt(b, now);
    for (const s of SERVICES) b.metrics.push(this.sample(s, now));
    this.flapAt(b, now);
    for (let i = 0; i < outcomesPerSecond; i++) b.outcomes.push(this.outcome(now - Math.floor(this.rand() * 1000)));
    if (this.step % 2 === 0) this.trainingAt(b, now);
    return b;
  }

  private announceComponents(b: Batch, now: number): void {
    for (const c of ['relay', 'detect', 'orchestrator', 'neuroweaver']) {
      b.events.push(
        this.event(now, {
          component: c,
          kind: 'component_status',
          severity: 'INFO',
          subject: c,
          message: `${c} started`,
          data: { status: 'ok' },
        }),
      );
    }
  }

  private event(at: number, e: Omit<EcosystemEventSpec, 'at'>) {
    return { key: e.component, timestamp: at, value: ecosystemEvent({ ...e, at }) };
  }

  private sample(s: (typeof SERVICES)[number], now: number) {
    const t = now / 1000;
    const wave = Math.sin((2 * Math.PI * t) / 300 + s.cpu);
    const hit = this.incidents.find((i) => i.service === s.name && now >= i.startedAt && now < i.endsAt);
    const spike = hit ? Math.min(1, (now - hit.startedAt) / 8000) : 0;
    const cpu = clamp(s.cpu + 8 * wave + 2.5 * this.gauss() + (hit?.metric === 'cpu_usage' ? 38 * spike : 0), 1, 99.5);
    const latency = Math.max(
      3,
      s.latency *
        (1 + 0.15 * wave) *
        Math.exp(0.12 * this.gauss()) *
        (hit?.metric === 'network_latency' ? 1 + 3.5 * spike : 1),
    );
    const value: MetricSampleInput = {
      service: s.name,
      timestamp: now,
      cpu_usage: round(cpu),
      memory_usage: round(clamp(s.mem + 3 * Math.sin(t / 900) + this.gauss(), 1, 99)),
      network_latency: round(latency),
      error_rate: round(clamp(0.4 + 0.3 * this.gauss() + (hit ? 4 * spike : 0), 0, 100)),
      request_count: Math.round(s.rps * (1 + 0.2 * wave) + 10 * this.gauss()),
      replicas: 3,
    };
    return { key: s.name, value, timestamp: now };
  }

  private incidentsAt(b: Batch, now: number): void {
    if (!this.nextIncidentAt) this.nextIncidentAt = now + 20_000;
    if (now >= this.nextIncidentAt) {
      const s = SERVICES[Math.floor(this.rand() * SERVICES.length)]!;
      if (!this.incidents.some((i) => i.service === s.name)) {
        this.incidents.push({
          id: `inc-${randomUUID().slice(0, 8)}`,
          service: s.name,
          metric: this.rand() < 0.5 ? 'cpu_usage' : 'network_latency',
          startedAt: now,
          endsAt: now + 25_000 + this.rand() * 30_000,
          opened: false,
        });
      }
      this.nextIncidentAt = now + 60_000 + this.rand() * 60_000;
    }
    for (const i of this.incidents) {
      if (!i.opened && now >= i.startedAt + 6000) {
        i.opened = true;
        const a = this.anomaly(i, 'OPEN', now);
        b.anomalies.push(a);
        b.events.push(
          this.event(now, {
            component: 'detect',
            kind: 'anomaly',
            severity: 'WARNING',
            subject: i.service,
            message: a.value.explanation,
            data: { id: i.id, score: String(a.value.score) },
          }),
        );
        const action: OrchestratorActionInput = {
          id: `act-${i.id}`,
          kind: i.metric === 'cpu_usage' ? 'scale' : 'downweight_endpoint',
          target: i.service,
          reason: `${i.id}: ${i.metric === 'cpu_usage' ? 'CPU' : 'latency'} of ${i.service} far above its expected range`,
          trigger: i.id,
          dryRun: true,
          status: 'PROPOSED',
          params: i.metric === 'cpu_usage' ? { replicas: '3->5' } : { weight: '1.0->0.4' },
          at: now,
        };
        b.actions.push({ key: i.service, value: action, timestamp: now });
        b.events.push(
          this.event(now, {
            component: 'orchestrator',
            kind: 'action',
            severity: 'INFO',
            subject: i.service,
            message: `proposed ${action.kind} of ${i.service} (dry run)`,
            data: { id: action.id },
          }),
        );
      }
      if (i.opened && now >= i.endsAt) {
        b.anomalies.push(this.anomaly(i, 'CLOSED', now));
        b.events.push(
          this.event(now, {
            component: 'detect',
            kind: 'anomaly',
            severity: 'INFO',
            subject: i.service,
            message: `${i.service} back within its expected range`,
            data: { id: i.id },
          }),
        );
      }
    }
    this.incidents = this.incidents.filter((i) => now < i.endsAt);
  }

  private anomaly(i: Incident, state: 'OPEN' | 'CLOSED', now: number) {
    const label = i.metric === 'cpu_usage' ? 'CPU' : 'latency';
    const value: AnomalyInput = {
      id: i.id,
      service: i.service,
      state,
      kind: i.metric === 'cpu_usage' ? 'spike' : 'level_shift',
      metrics: [i.metric, 'error_rate'],
      score: state === 'OPEN' ? round(0.82 + 0.15 * this.rand(), 3) : 0.12,
      contributions: [
        {
          metric: i.metric,
          value: i.metric === 'cpu_usage' ? 88 : 420,
          expectedLow: 20,
          expectedHigh: i.metric === 'cpu_usage' ? 65 : 150,
          score: 0.9,
          share: 0.8,
        },
      ],
      explanation:
        state === 'OPEN'
          ? `${label} of ${i.service} rose far above its expected range, with errors`
          : `${label} of ${i.service} is back to normal`,
      startedAt: i.startedAt,
      at: now,
      endedAt: state === 'CLOSED' ? now : null,
    };
    return { key: i.service, value, timestamp: now };
  }

  private flapAt(b: Batch, now: number): void {
    if (!this.nextFlapAt) this.nextFlapAt = now + 40_000;
    const breaker = (from: string, state: string, severity: 'INFO' | 'WARNING', message: string) =>
      b.events.push(
        this.event(now, {
          component: 'relay',
          kind: 'breaker_state',
          severity,
          subject: 'orders/orders-ap',
          message: `breaker of orders-ap ${message}`,
          data: { state, from },
        }),
      );
    if (!this.flap && now >= this.nextFlapAt) {
      this.flap = { route: 'orders', endpoint: 'orders-ap', openedAt: now, state: 'OPEN' };
      breaker('CLOSED', 'OPEN', 'WARNING', 'opened after 5 consecutive failures');
    } else if (this.flap?.state === 'OPEN' && now >= this.flap.openedAt + 15_000) {
      this.flap.state = 'HALF_OPEN';
      breaker('OPEN', 'HALF_OPEN', 'INFO', 'half-open: probing');
    } else if (this.flap?.state === 'HALF_OPEN' && now >= this.flap.openedAt + 22_000) {
      breaker('HALF_OPEN', 'CLOSED', 'INFO', 'closed: probes succeeded');
      this.flap = undefined;
      this.nextFlapAt = now + 90_000 + this.rand() * 60_000;
    }
  }

  private outcome(at: number) {
    const r = ROUTES[this.rand() < 0.7 ? 0 : 1]!;
    const e = r.endpoints[Math.floor(this.rand() * r.endpoints.length)]!;
    const flapping = this.flap && this.flap.endpoint === e.id;
    const latency = round(e.latency * Math.exp(0.35 * this.gauss()));
    const roll = this.rand();
    let status: DeliveryOutcomeInput['status'] = roll < 0.988 ? 'DELIVERED' : roll < 0.999 ? 'FAILED' : 'TIMEOUT';
    if (flapping) status = this.flap!.state === 'OPEN' ? 'REJECTED' : this.rand() < 0.6 ? 'DELIVERED' : 'FAILED';
    const value: DeliveryOutcomeInput = {
      messageId: randomUUID(),
      route: r.route,
      endpoint: e.id,
      policy: 'learned',
      attempt: 1,
      status,
      httpStatus: status === 'DELIVERED' ? 200 : status === 'FAILED' ? 503 : null,
      latencyMs: status === 'REJECTED' ? 0 : status === 'TIMEOUT' ? 5000 : latency,
      messageType: 'order.created',
      payloadBytes: 400 + Math.floor(this.rand() * 800),
      decidedAt: at,
    };
    return { key: e.id, value, timestamp: at };
  }

  private trainingAt(b: Batch, now: number): void {
    if (!this.job && now - this.lastJobAt >= 120_000) {
      this.job = { id: `job-${randomUUID().slice(0, 8)}`, trial: 0, epoch: 0, startedAt: now, best: Infinity };
      this.lastJobAt = now;
      b.training.push(
        this.training(now, 'JOB_STARTED', { message: 'tuning the performance model on metrics.samples (last 24 h)' }),
      );
      b.events.push(
        this.event(now, {
          component: 'neuroweaver',
          kind: 'training',
          severity: 'INFO',
          subject: 'performance',
          message: `training job ${this.job.id} started`,
          data: { jobId: this.job.id },
        }),
      );
    }
    const job = this.job;
    if (!job) return;
    if (job.epoch === 0)
      b.training.push(
        this.training(now, 'TRIAL_STARTED', {
          trial: job.trial,
          hyperparameters: {
            learningRate: String([0.01, 0.003, 0.001][job.trial]),
            units: String([32, 64, 48][job.trial]),
          },
        }),
      );
    job.epoch++;
    const floor = [0.09, 0.05, 0.065][job.trial]!;
    const loss = floor + 0.6 * Math.exp(-job.epoch / 3.2) + 0.01 * Math.abs(this.gauss());
    const valLoss = loss * (1.08 + 0.03 * this.rand());
    job.best = Math.min(job.best, valLoss);
    b.training.push(
      this.training(now, 'EPOCH', {
        trial: job.trial,
        epoch: job.epoch,
        metrics: { loss: round(loss, 4), val_loss: round(valLoss, 4) },
      }),
    );
    if (job.epoch < EPOCHS) return;
    b.training.push(
      this.training(now, 'TRIAL_FINISHED', { trial: job.trial, metrics: { val_loss: round(valLoss, 4) } }),
    );
    job.trial++;
    job.epoch = 0;
    if (job.trial < TRIALS) return;
    b.training.push(
      this.training(now, 'JOB_FINISHED', {
        metrics: { val_loss: round(job.best, 4) },
        message: 'best trial promoted to candidate',
      }),
    );
    this.version++;
    const version = `v${this.version}`;
    // As NeuroWeaver records a version: holdout error in the target's units next to the linear baseline's
    // and, once there is one, the champion's on the same holdout (a little worse: the demo's always wins).
    const holdoutRmse = round(0.019 + 0.006 * this.rand(), 4);
    const baselineRmse = round(holdoutRmse * (1.25 + 0.1 * this.rand()), 4);
    const championRmse = round(holdoutRmse * 1.08, 4);
    const figures = (rmse: number) => ({ rmse, mae: round(rmse * 0.8, 4) });
    const champion: ModelVersionInput = {
      model: 'performance',
      version,
      parent: this.champion?.version ?? null,
      status: 'CHAMPION',
      metrics: { val_loss: round(job.best, 4), epochs: EPOCHS, trials: TRIALS },
      evaluation: {
        holdoutRows: 17_280,
        network: figures(holdoutRmse),
        linear: figures(baselineRmse),
        classic: null,
        champion: this.champion
          ? { version: this.champion.version, metrics: figures(championRmse), error: null }
          : null,
      },
      note: this.champion
        ? `beats the champion: rmse ${holdoutRmse} vs champion ${this.champion.version} ${championRmse} on the same holdout`
        : `first version: rmse ${holdoutRmse} on the holdout (linear baseline ${baselineRmse})`,
      hyperparameters: { units: '64' },
      dataSource: 'metrics.samples',
      rows: 86_400,
      backend: 'tensorflow',
      artifactPath: `performance/${version}`,
      createdAt: now,
      updatedAt: now,
    };
    b.models.push({ key: `performance/${version}`, value: champion, timestamp: now });
    if (this.champion)
      b.models.push({
        key: `performance/${this.champion.version}`,
        value: { ...this.champion, status: 'RETIRED', updatedAt: now },
        timestamp: now,
      });
    b.events.push(
      this.event(now, {
        component: 'neuroweaver',
        kind: 'training',
        severity: 'INFO',
        subject: 'performance',
        message: `performance ${version} is the new champion (holdout rmse ${holdoutRmse} vs linear ${baselineRmse})`,
        data: { version },
      }),
    );
    this.champion = champion;
    this.job = undefined;
  }

  private training(at: number, kind: TrainingEventInput['kind'], extra: Partial<TrainingEventInput>) {
    return {
      key: this.job!.id,
      timestamp: at,
      value: { jobId: this.job!.id, model: 'performance', kind, at, ...extra },
    };
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Sends one batch of demo records. */
export async function sendBatch(producer: TypedProducer, b: Batch): Promise<number> {
  const sends: Promise<unknown>[] = [];
  if (b.metrics.length) sends.push(producer.send('metrics.samples', b.metrics));
  if (b.anomalies.length) sends.push(producer.send('anomalies', b.anomalies));
  if (b.outcomes.length) sends.push(producer.send('delivery.outcomes', b.outcomes));
  if (b.training.length) sends.push(producer.send('training.events', b.training));
  if (b.models.length) sends.push(producer.send('model.registry', b.models));
  if (b.actions.length) sends.push(producer.send('orchestrator.actions', b.actions));
  if (b.events.length) sends.push(producer.send('ecosystem.events', b.events));
  await Promise.all(sends);
  return Object.values(b).reduce((n, list) => n + list.length, 0);
}

/** Back-fills `seconds` of history ending now, second by second, in batches. */
export async function backfill(
  kafka: KafkaConnection,
  gen: DemoGenerator,
  seconds: number,
  now = Date.now(),
): Promise<number> {
  const producer = await kafka.producer();
  let total = 0;
  let pending = emptyBatch();
  for (let s = seconds; s > 0; s--) {
    const b = gen.tick(now - s * 1000, 8);
    for (const k of Object.keys(b) as (keyof Batch)[]) (pending[k] as unknown[]).push(...b[k]);
    if (s % 60 === 0 || s === 1) {
      total += await sendBatch(producer, pending);
      pending = emptyBatch();
    }
  }
  return total;
}
