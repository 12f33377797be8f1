// Generated from schemas/*.avsc by `npm run gen`. Do not edit by hand.
/* eslint-disable */

export const ACTION_KIND_SYMBOLS = ['drain_endpoint', 'downweight_endpoint', 'open_breaker', 'restore_endpoint', 'retrain', 'webhook', 'scale'] as const;
export type ActionKind = (typeof ACTION_KIND_SYMBOLS)[number];

export const ACTION_EXECUTOR_SYMBOLS = ['relay', 'neuroweaver', 'webhook'] as const;
export type ActionExecutor = (typeof ACTION_EXECUTOR_SYMBOLS)[number];

export const ACTION_RESULT_STATUS_SYMBOLS = ['EXECUTED', 'FAILED'] as const;
export type ActionResultStatus = (typeof ACTION_RESULT_STATUS_SYMBOLS)[number];

/** An executor's answer to an orchestrator action it carried out (or could not): the reply half of the action protocol, keyed by the action id. */
export interface ActionResult {
  /** Correlation id: the id of the orchestrator.actions record answered. */
  actionId: string;
  kind: ActionKind;
  target: string;
  /** Which component carried it out. */
  executor: ActionExecutor;
  /** The executing process (several RelayCores each apply relay actions). */
  instance: string;
  status: ActionResultStatus;
  /** What was done, or why not, in a sentence. */
  detail: string;
  /** Kind-specific facts: retrain: version, decision (CHAMPION or REJECTED); webhook: httpStatus. */
  data: Record<string, string>;
  at: number;
}

export type ActionResultInput = Omit<ActionResult, 'data'> & Partial<Pick<ActionResult, 'data'>>;

export const ANOMALY_STATE_SYMBOLS = ['OPEN', 'UPDATE', 'CLOSED'] as const;
export type AnomalyState = (typeof ANOMALY_STATE_SYMBOLS)[number];

export const ANOMALY_KIND_SYMBOLS = ['spike', 'level_shift', 'drift', 'variance_change', 'seasonality_break', 'multivariate', 'unknown'] as const;
export type AnomalyKind = (typeof ANOMALY_KIND_SYMBOLS)[number];

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
  /** What changed: a spike, a level shift, a drift (no longer emitted), a change of variance, a broken season, broken relations between metrics (multivariate). */
  kind: AnomalyKind;
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

export const DEAD_LETTER_REASON_SYMBOLS = ['decode_error', 'invalid_message', 'unknown_route', 'no_endpoint', 'endpoint_rejected', 'max_attempts', 'unknown'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASON_SYMBOLS)[number];

/** A record that could not be handled, with why. The original bytes are kept so it can be replayed. */
export interface DeadLetter {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  key: null | Buffer;
  value: null | Buffer;
  headers: Record<string, string>;
  /** The reason as text, the same as reasonCode: kept for readers of the first version of this schema (a field cannot change from string to enum compatibly). Read reasonCode. */
  reason: string;
  /** Human-readable detail (the last error). */
  error: string;
  component: string;
  messageId: null | string;
  route: null | string;
  attempts: number;
  failedAt: number;
  /** Why: decode_error (the value does not decode against the topic's schema), invalid_message (reading it failed otherwise), unknown_route (it names no existing route), no_endpoint (no endpoint of its route came back within RELAY_NO_ENDPOINT_MAX_WAIT_MS), endpoint_rejected (an endpoint refused it for good), max_attempts (every attempt failed). A record written before this field reads unknown (its reason has the text); a reader that does not know a newer symbol reads unknown. */
  reasonCode: DeadLetterReason;
}

export type DeadLetterInput = Omit<DeadLetter, 'key' | 'value' | 'headers' | 'component' | 'messageId' | 'route' | 'attempts' | 'reasonCode'> & Partial<Pick<DeadLetter, 'key' | 'value' | 'headers' | 'component' | 'messageId' | 'route' | 'attempts' | 'reasonCode'>>;

export const DELIVERY_STATUS_SYMBOLS = ['DELIVERED', 'FAILED', 'TIMEOUT', 'REJECTED', 'SHED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUS_SYMBOLS)[number];

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

export const SEVERITY_SYMBOLS = ['INFO', 'WARNING', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITY_SYMBOLS)[number];

export const ECOSYSTEM_EVENT_KIND_SYMBOLS = ['component_status', 'breaker_state', 'route_paused', 'route_resumed', 'endpoint_shed', 'model_changed', 'action_applied', 'anomaly', 'training', 'action', 'unknown'] as const;
export type EcosystemEventKind = (typeof ECOSYSTEM_EVENT_KIND_SYMBOLS)[number];

/** Something a person watching the system should see: component status, breaker transitions, and digests of anomalies, training and actions. */
export interface EcosystemEvent {
  id: string;
  /** relay, detect, orchestrator, neuroweaver, gateway, api, stack. */
  component: string;
  /** The kind as text, the same as kindCode: kept for readers of the first version of this schema (a field cannot change from string to enum compatibly). Read kindCode. */
  kind: string;
  severity: Severity;
  /** What it is about, e.g. the endpoint or service. */
  subject: null | string;
  message: string;
  data: Record<string, string>;
  at: number;
  /** What happened: a component's status changed (component_status), an endpoint's breaker moved (breaker_state), a route paused or resumed for want of an endpoint, the learned policy started or stopped shedding an endpoint (endpoint_shed), RelayCore swapped its routing model (model_changed) or applied an orchestrator action (action_applied); digests of anomalies, training jobs and orchestrator actions. A record written before this field, or with a symbol the reader does not know, reads unknown. */
  kindCode: EcosystemEventKind;
}

export type EcosystemEventInput = Omit<EcosystemEvent, 'subject' | 'data' | 'kindCode'> & Partial<Pick<EcosystemEvent, 'subject' | 'data' | 'kindCode'>>;

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

/** One chunk of a model version's artifacts (model.json, weights.bin, state.json bundled), so any instance can serve the version without a shared disk. Keyed `<model>/<version>/<index>`; the registry record says how many chunks and their checksum. */
export interface ModelArtifactChunk {
  model: string;
  version: string;
  /** 0-based position of this chunk. */
  index: number;
  /** Chunks of the version. */
  count: number;
  data: Buffer;
}

export type ModelArtifactChunkInput = ModelArtifactChunk;

export const MODEL_STATUS_SYMBOLS = ['CANDIDATE', 'CHAMPION', 'REJECTED', 'RETIRED'] as const;
export type ModelStatus = (typeof MODEL_STATUS_SYMBOLS)[number];

/** Where the version's artifacts are on Kafka: its chunks on model.artifacts. */
export interface ArtifactRef {
  chunks: number;
  /** Size of the bundle of all files. */
  bytes: number;
  /** Checksum of the bundle, hex. */
  sha256: string;
}

/** The champion at training time, measured on this version's holdout. */
export interface ChampionEvaluation {
  version: string;
  /** Empty when it could not be evaluated. */
  metrics: Record<string, number>;
  /** Why it could not be evaluated (its artifacts do not load, ...). */
  error: null | string;
}

/** What the promotion gate compared, all measured on this version's holdout in the target's units. Each map holds the model kind's figures by name (performance: rmse, mae, r2; routing: combined_loss, latency_mae_log, failure_logloss, ...); the kind's primary metric decides. */
export interface Evaluation {
  /** Rows of the holdout (0 on versions recorded before the figure was kept). */
  holdoutRows: number;
  /** This version's network. */
  network: Record<string, number>;
  /** The linear baseline: a least-squares regression fitted on the same training split. */
  linear: null | Record<string, number>;
  /** The kind's classic, non-learned predictor (routing: the endpoints' latency and failure EWMAs); null for kinds without one. */
  classic: null | Record<string, number>;
  /** Null when there was no champion (a first version). */
  champion: null | ChampionEvaluation;
}

/** A trained model version. The registry topic is compacted and keyed by `<model>/<version>`, so the latest record of each version survives. */
export interface ModelVersion {
  model: string;
  version: string;
  /** Version this one was compared against (the champion at training time). */
  parent: null | string;
  status: ModelStatus;
  /** The training's own figures: val_loss, epochs, trials, train_rows, val_rows, duration_s. What the promotion gate compared is `evaluation`. */
  metrics: Record<string, number>;
  hyperparameters: Record<string, string>;
  /** request, or the replayed topic. */
  dataSource: string;
  dataFrom: null | number;
  dataTo: null | number;
  rows: number;
  /** TensorFlow.js backend that trained it. */
  backend: string;
  /** Folder under MODEL_SAVE_PATH (a cache of the artifacts on model.artifacts) with model.json, weights.bin and state.json. */
  artifactPath: string;
  createdAt: number;
  updatedAt: number;
  note: null | string;
  /** Champion this version replaced when it was promoted: what a rollback returns to. */
  replaced: null | string;
  /** Null for versions made before artifacts were published to Kafka: those load from MODEL_SAVE_PATH only. */
  artifacts: null | ArtifactRef;
  /** Null on versions recorded before it existed: readers lift their prefixed metrics (holdout_, baseline_, classic_, champion_) into it (schemas/upgrades.ts). */
  evaluation: null | Evaluation;
}

export type ModelVersionInput = Omit<ModelVersion, 'parent' | 'metrics' | 'hyperparameters' | 'dataFrom' | 'dataTo' | 'rows' | 'note' | 'replaced' | 'artifacts' | 'evaluation'> & Partial<Pick<ModelVersion, 'parent' | 'metrics' | 'hyperparameters' | 'dataFrom' | 'dataTo' | 'rows' | 'note' | 'replaced' | 'artifacts' | 'evaluation'>>;

export const ACTION_STATUS_SYMBOLS = ['PROPOSED', 'EXECUTED', 'SKIPPED', 'RATE_LIMITED', 'FAILED', 'VERIFIED', 'INEFFECTIVE'] as const;
export type ActionStatus = (typeof ACTION_STATUS_SYMBOLS)[number];

export const ACTION_CAUSE_SYMBOLS = ['anomaly', 'breaker', 'failure', 'scale', 'rollback'] as const;
export type ActionCause = (typeof ACTION_CAUSE_SYMBOLS)[number];

/** A decision of the AI Orchestrator and each later step of its lifecycle, audited whether or not it was carried out. A live (dryRun false) PROPOSED record is also the request to its executor, which answers on actions.results. */
export interface OrchestratorAction {
  /** Idempotency key: the same condition yields the same id. */
  id: string;
  /** What to do. Executors: RelayCore the endpoint kinds, NeuroWeaver retrain, the orchestrator's webhook caller webhook; scale is advice. */
  kind: ActionKind;
  /** Service, route/endpoint, or model acted on. */
  target: string;
  /** Why, in a sentence naming the triggering incident. */
  reason: string;
  /** Id of the anomaly or event that triggered it. */
  trigger: null | string;
  dryRun: boolean;
  /** The action's lifecycle, one record per step under the same id: PROPOSED (decided; carried out when dryRun is false), then EXECUTED or FAILED from the executor's answer on actions.results, then VERIFIED or INEFFECTIVE once its effect was checked. SKIPPED and RATE_LIMITED were never carried out. */
  status: ActionStatus;
  params: Record<string, string>;
  error: null | string;
  /** When this step was recorded (the decision, the answer, the check). */
  at: number;
  /** What kind of condition the trigger is: the check of the action's effect depends on it. */
  cause: null | ActionCause;
  /** EXECUTED and FAILED: the component whose answer this step records. */
  executor: null | ActionExecutor;
  /** What the executor did, or what the check of the effect found. */
  detail: null | string;
}

export type OrchestratorActionInput = Omit<OrchestratorAction, 'trigger' | 'dryRun' | 'params' | 'error' | 'cause' | 'executor' | 'detail'> & Partial<Pick<OrchestratorAction, 'trigger' | 'dryRun' | 'params' | 'error' | 'cause' | 'executor' | 'detail'>>;

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

export const RETRAIN_REPLY_STATUS_SYMBOLS = ['QUEUED', 'REFUSED', 'FINISHED', 'FAILED'] as const;
export type RetrainReplyStatus = (typeof RETRAIN_REPLY_STATUS_SYMBOLS)[number];

export const GATE_DECISION_SYMBOLS = ['CHAMPION', 'REJECTED'] as const;
export type GateDecision = (typeof GATE_DECISION_SYMBOLS)[number];

/** NeuroWeaver's answer to a retraining request, keyed by the request id: QUEUED when an instance accepts it, then FINISHED or FAILED; REFUSED at once when it cannot. */
export interface RetrainReply {
  /** Correlation id: the id of the retrain.requests record answered. */
  requestId: string;
  model: string;
  status: RetrainReplyStatus;
  jobId: null | string;
  /** FINISHED: the version the job registered. */
  version: null | string;
  /** FINISHED: the promotion gate's verdict on that version. */
  decision: null | GateDecision;
  /** The reason (refusal, failure) or the gate's summary. */
  message: string;
  at: number;
}

export type RetrainReplyInput = Omit<RetrainReply, 'jobId' | 'version' | 'decision'> & Partial<Pick<RetrainReply, 'jobId' | 'version' | 'decision'>>;

export interface RetrainBudget {
  trials: null | number;
  maxEpochs: null | number;
  timeS: null | number;
}

export const ACTIVATION_SYMBOLS = ['relu', 'elu', 'tanh'] as const;
export type Activation = (typeof ACTIVATION_SYMBOLS)[number];

/** Train exactly these (one trial, no search). */
export interface Hyperparameters {
  /** Hidden layers. */
  layers: number;
  /** Units of the first hidden layer; each further layer has half as many (at least 4). */
  units: number;
  learningRate: number;
  batchSize: number;
  /** L2 weight regularisation of every dense kernel. */
  l2: number;
  dropout: number;
  activation: Activation;
}

export const HOLDOUT_ROWS_SYMBOLS = ['newest', 'random'] as const;
export type HoldoutRows = (typeof HOLDOUT_ROWS_SYMBOLS)[number];

/** A request to NeuroWeaver to retrain a model on a window of its source topic. One NeuroWeaver instance answers on retrain.replies under the same id. */
export interface RetrainRequest {
  /** Correlation id: the key of the request and of its replies, and the id of the job. */
  id: string;
  /** Model kind: performance, routing. */
  model: string;
  /** Who asks, shown in the job's reason and the logs. */
  requestedBy: string;
  reason: string;
  /** Window of the model's source topic to replay, epoch ms. */
  from: number;
  to: number;
  /** Epoch ms after which the requester no longer waits: a NeuroWeaver reading the request later ignores it. */
  deadline: number;
  /** Tuning budget; null takes NeuroWeaver's default. */
  budget: RetrainBudget;
  hyperparameters: null | Hyperparameters;
  /** Which rows the holdout takes (null: the newest); random when the window is not one time series. */
  holdout: null | HoldoutRows;
  at: number;
}

export type RetrainRequestInput = Omit<RetrainRequest, 'budget' | 'hyperparameters' | 'holdout'> & Partial<Pick<RetrainRequest, 'budget' | 'hyperparameters' | 'holdout'>>;

export const ENDPOINT_KIND_SYMBOLS = ['HTTP', 'KAFKA'] as const;
export type EndpointKind = (typeof ENDPOINT_KIND_SYMBOLS)[number];

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

export const TRAINING_EVENT_KIND_SYMBOLS = ['JOB_STARTED', 'TRIAL_STARTED', 'EPOCH', 'TRIAL_STOPPED', 'TRIAL_FINISHED', 'JOB_FINISHED', 'JOB_FAILED', 'JOB_QUEUED'] as const;
export type TrainingEventKind = (typeof TRAINING_EVENT_KIND_SYMBOLS)[number];

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
  'action-result': ActionResult;
  'anomaly': Anomaly;
  'dead-letter': DeadLetter;
  'delivery-outcome': DeliveryOutcome;
  'detector-state': DetectorState;
  'ecosystem-event': EcosystemEvent;
  'metric-sample': MetricSample;
  'model-artifact': ModelArtifactChunk;
  'model-version': ModelVersion;
  'orchestrator-action': OrchestratorAction;
  'relay-message': RelayMessage;
  'retrain-reply': RetrainReply;
  'retrain-request': RetrainRequest;
  'route': Route;
  'training-event': TrainingEvent;
}

/** What a producer must give for each schema: fields with an Avro default may be left out. */
export interface SchemaInputs {
  'action-result': ActionResultInput;
  'anomaly': AnomalyInput;
  'dead-letter': DeadLetterInput;
  'delivery-outcome': DeliveryOutcomeInput;
  'detector-state': DetectorStateInput;
  'ecosystem-event': EcosystemEventInput;
  'metric-sample': MetricSampleInput;
  'model-artifact': ModelArtifactChunkInput;
  'model-version': ModelVersionInput;
  'orchestrator-action': OrchestratorActionInput;
  'relay-message': RelayMessageInput;
  'retrain-reply': RetrainReplyInput;
  'retrain-request': RetrainRequestInput;
  'route': RouteInput;
  'training-event': TrainingEventInput;
}
