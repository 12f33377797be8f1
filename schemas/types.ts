// Generated from schemas/*.avsc by `npm run gen`. Do not edit by hand.
/* eslint-disable */

export type AnomalyState = 'OPEN' | 'UPDATE' | 'CLOSED';

export interface MetricContribution {
  metric: string;
  value: number;
  expectedLow: number;
  expectedHigh: number;
  score: number;
  /** Share of the incident's score, 0-1. */
  share: number;
}

/** An incident found in a service's metrics. One incident is one record when it opens and one when it closes. */
export interface Anomaly {
  /** Incident id, the same on its open and close records. */
  id: string;
  service: string;
  state: AnomalyState;
  /** spike, level_shift, drift, variance_change, seasonality_break, multivariate, ... */
  kind: string;
  /** Metrics involved, most anomalous first. */
  metrics: Array<string>;
  /** 0-1. */
  score: number;
  contributions: Array<MetricContribution>;
  /** One sentence for a person. */
  explanation: string;
  /** Sample timestamp where the incident began. */
  startedAt: number;
  /** Sample timestamp of this record. */
  at: number;
  endedAt: null | number;
}

export type AnomalyInput = Omit<Anomaly, 'kind' | 'contributions' | 'endedAt'> & Partial<Pick<Anomaly, 'kind' | 'contributions' | 'endedAt'>>;

/** A record that could not be handled, with why. The original bytes are kept so it can be replayed. */
export interface DeadLetter {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  key: null | Buffer;
  value: null | Buffer;
  headers: Record<string, string>;
  /** Machine-readable reason: decode_error, invalid_message, unknown_route, no_endpoint, max_attempts, ... */
  reason: string;
  /** Human-readable detail (the last error). */
  error: string;
  component: string;
  messageId: null | string;
  route: null | string;
  attempts: number;
  failedAt: number;
}

export type DeadLetterInput = Omit<DeadLetter, 'key' | 'value' | 'headers' | 'component' | 'messageId' | 'route' | 'attempts'> & Partial<Pick<DeadLetter, 'key' | 'value' | 'headers' | 'component' | 'messageId' | 'route' | 'attempts'>>;

export type DeliveryStatus = 'DELIVERED' | 'FAILED' | 'TIMEOUT' | 'REJECTED' | 'SHED';

/** One delivery attempt by RelayCore: the training data of the learned routing policy. */
export interface DeliveryOutcome {
  messageId: string;
  route: string;
  /** Endpoint id within the route. */
  endpoint: string;
  /** Routing policy that chose the endpoint. */
  policy: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** REJECTED: the endpoint's breaker was open; SHED: predictive protection skipped it. */
  status: DeliveryStatus;
  httpStatus: null | number;
  latencyMs: number;
  error: null | string;
  messageType: string;
  payloadBytes: number;
  /** Version of the routing model's feature list the values follow (0: none). */
  featureVersion: number;
  /** Endpoint features at decision time, in the order of the routing model's feature names of featureVersion (routingContract in src/ml): compact, one float each. */
  featureValues: Array<number>;
  /** Epoch milliseconds of the routing decision. */
  decidedAt: number;
}

export type DeliveryOutcomeInput = Omit<DeliveryOutcome, 'httpStatus' | 'error' | 'messageType' | 'payloadBytes' | 'featureVersion' | 'featureValues'> & Partial<Pick<DeliveryOutcome, 'httpStatus' | 'error' | 'messageType' | 'payloadBytes' | 'featureVersion' | 'featureValues'>>;

/** Snapshot of the anomaly detector's state for one service. Compacted, keyed by service. */
export interface DetectorState {
  service: string;
  /** State format version; a detector that cannot read it rebuilds by replay. */
  format: number;
  /** The detector's own serialisation (JSON). */
  state: string;
  sourcePartition: number;
  /** Metric-sample offset the snapshot includes. */
  sourceOffset: number;
  at: number;
}

export type DetectorStateInput = DetectorState;

export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';

/** Something a person watching the system should see: component status, breaker transitions, and digests of anomalies, training and actions. */
export interface EcosystemEvent {
  id: string;
  /** relay, detect, orchestrator, neuroweaver, gateway, api, stack. */
  component: string;
  /** component_status, breaker_state, anomaly, training, action, ... */
  kind: string;
  severity: Severity;
  /** What it is about, e.g. the endpoint or service. */
  subject: null | string;
  message: string;
  data: Record<string, string>;
  at: number;
}

export type EcosystemEventInput = Omit<EcosystemEvent, 'subject' | 'data'> & Partial<Pick<EcosystemEvent, 'subject' | 'data'>>;

/** One observation of a service's health. Keyed by service, so one service's samples stay in order. */
export interface MetricSample {
  service: string;
  /** Epoch milliseconds of the observation. */
  timestamp: number;
  /** Percent, 0-100. */
  cpu_usage: number;
  /** Percent, 0-100. */
  memory_usage: number;
  /** Milliseconds. */
  network_latency: number;
  /** Percent of requests that failed, 0-100. */
  error_rate: number;
  /** Requests in the sampling interval. */
  request_count: number;
  /** Label for the performance model, 0-1, when known. */
  performance_score: null | number;
  /** Replicas serving when sampled, when known. */
  replicas: null | number;
  /** Further numeric metrics, by name. */
  extra: Record<string, number>;
}

export type MetricSampleInput = Omit<MetricSample, 'performance_score' | 'replicas' | 'extra'> & Partial<Pick<MetricSample, 'performance_score' | 'replicas' | 'extra'>>;

export type ModelStatus = 'CANDIDATE' | 'CHAMPION' | 'REJECTED' | 'RETIRED';

/** A trained model version. The registry topic is compacted and keyed by `<model>/<version>`, so the latest record of each version survives. */
export interface ModelVersion {
  model: string;
  version: string;
  /** Version this one was compared against (the champion at training time). */
  parent: null | string;
  status: ModelStatus;
  metrics: Record<string, number>;
  hyperparameters: Record<string, string>;
  /** request, or the replayed topic. */
  dataSource: string;
  dataFrom: null | number;
  dataTo: null | number;
  rows: number;
  /** TensorFlow.js backend that trained it. */
  backend: string;
  /** Folder under MODEL_SAVE_PATH with model.json and weights. */
  artifactPath: string;
  createdAt: number;
  updatedAt: number;
  note: null | string;
  /** Champion this version replaced when it was promoted: what a rollback returns to. */
  replaced: null | string;
}

export type ModelVersionInput = Omit<ModelVersion, 'parent' | 'metrics' | 'hyperparameters' | 'dataFrom' | 'dataTo' | 'rows' | 'note' | 'replaced'> & Partial<Pick<ModelVersion, 'parent' | 'metrics' | 'hyperparameters' | 'dataFrom' | 'dataTo' | 'rows' | 'note' | 'replaced'>>;

export type ActionStatus = 'PROPOSED' | 'EXECUTED' | 'SKIPPED' | 'RATE_LIMITED' | 'FAILED';

/** A decision of the AI Orchestrator, audited whether or not it was carried out. */
export interface OrchestratorAction {
  /** Idempotency key: the same condition yields the same id. */
  id: string;
  /** scale, drain_endpoint, downweight_endpoint, open_breaker, retrain, webhook, ... */
  kind: string;
  /** Service, route/endpoint, or model acted on. */
  target: string;
  /** Why, in a sentence naming the triggering incident. */
  reason: string;
  /** Id of the anomaly or event that triggered it. */
  trigger: null | string;
  dryRun: boolean;
  status: ActionStatus;
  params: Record<string, string>;
  error: null | string;
  at: number;
}

export type OrchestratorActionInput = Omit<OrchestratorAction, 'trigger' | 'dryRun' | 'params' | 'error'> & Partial<Pick<OrchestratorAction, 'trigger' | 'dryRun' | 'params' | 'error'>>;

/** A message for RelayCore to deliver. Produced to one of the inbound priority topics; the Kafka key (if any) orders messages that share it. */
export interface RelayMessage {
  /** Unique message id; also the idempotency key sent to HTTP endpoints. */
  id: string;
  /** Route name; null means the inbound topic's default route. */
  route: null | string;
  /** Message type, a routing feature (e.g. order.created). */
  type: string;
  /** The body delivered to the endpoint, usually JSON text. */
  payload: string;
  contentType: string;
  /** Headers forwarded to the endpoint. */
  headers: Record<string, string>;
  /** Epoch milliseconds at the producer; null means the Kafka record timestamp. */
  createdAt: null | number;
}

export type RelayMessageInput = Omit<RelayMessage, 'route' | 'type' | 'contentType' | 'headers' | 'createdAt'> & Partial<Pick<RelayMessage, 'route' | 'type' | 'contentType' | 'headers' | 'createdAt'>>;

export type EndpointKind = 'HTTP' | 'KAFKA';

export interface Endpoint {
  id: string;
  kind: EndpointKind;
  /** URL for HTTP, topic name for KAFKA. */
  target: string;
  weight: number;
  timeoutMs: number;
  headers: Record<string, string>;
}

/** A RelayCore route. The routes topic is compacted and keyed by route name; a null value deletes the route. */
export interface Route {
  name: string;
  /** round-robin, least-inflight, p2c-peak-ewma or learned. */
  policy: string;
  endpoints: Array<Endpoint>;
  maxAttempts: number;
  /** Breaker and policy settings, by name. */
  settings: Record<string, string>;
  updatedAt: number;
}

export type RouteInput = Omit<Route, 'policy' | 'maxAttempts' | 'settings'> & Partial<Pick<Route, 'policy' | 'maxAttempts' | 'settings'>>;

export type TrainingEventKind = 'JOB_STARTED' | 'TRIAL_STARTED' | 'EPOCH' | 'TRIAL_STOPPED' | 'TRIAL_FINISHED' | 'JOB_FINISHED' | 'JOB_FAILED' | 'JOB_QUEUED';

/** Progress of a NeuroWeaver training job: one record per job, trial and epoch milestone. */
export interface TrainingEvent {
  jobId: string;
  /** Model name, e.g. performance or routing. */
  model: string;
  /** JOB_QUEUED when a job is accepted (the answer to a retraining request); JOB_FAILED also when a request is refused. */
  kind: TrainingEventKind;
  trial: null | number;
  epoch: null | number;
  /** loss, val_loss and other metrics. */
  metrics: Record<string, number>;
  hyperparameters: Record<string, string>;
  message: null | string;
  /** JOB_FINISHED: the model version the job registered (champion or rejected). */
  version: null | string;
  at: number;
}

export type TrainingEventInput = Omit<TrainingEvent, 'trial' | 'epoch' | 'metrics' | 'hyperparameters' | 'message' | 'version'> & Partial<Pick<TrainingEvent, 'trial' | 'epoch' | 'metrics' | 'hyperparameters' | 'message' | 'version'>>;

/** Value type of each schema file, by file name without `.avsc`. */
export interface SchemaTypes {
  'anomaly': Anomaly;
  'dead-letter': DeadLetter;
  'delivery-outcome': DeliveryOutcome;
  'detector-state': DetectorState;
  'ecosystem-event': EcosystemEvent;
  'metric-sample': MetricSample;
  'model-version': ModelVersion;
  'orchestrator-action': OrchestratorAction;
  'relay-message': RelayMessage;
  'route': Route;
  'training-event': TrainingEvent;
}

/** What a producer must give for each schema: fields with an Avro default may be left out. */
export interface SchemaInputs {
  'anomaly': AnomalyInput;
  'dead-letter': DeadLetterInput;
  'delivery-outcome': DeliveryOutcomeInput;
  'detector-state': DetectorStateInput;
  'ecosystem-event': EcosystemEventInput;
  'metric-sample': MetricSampleInput;
  'model-version': ModelVersionInput;
  'orchestrator-action': OrchestratorActionInput;
  'relay-message': RelayMessageInput;
  'route': RouteInput;
  'training-event': TrainingEventInput;
}
