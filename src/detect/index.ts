/** Online anomaly detection: the component, and the detector for offline use (`automatrix detect`). */
import type { Component, ComponentContext } from '../app/component.js';
import type { Config } from '../config/index.js';
import { DEFAULT_ENGINE, type EngineOptions } from './engine.js';
import { DetectProcessor } from './processor.js';

export { UnivariateDetector, DEFAULT_SETTINGS, KINDS, type DetectorSettings } from './univariate.js';
export { ServiceDetector, KIND_NAMES } from './service.js';
export { IncidentTracker, DEFAULT_HYSTERESIS, type HysteresisSettings } from './incidents.js';
export { ServiceState, STANDARD_METRICS, type EngineOptions } from './engine.js';
export { DetectProcessor } from './processor.js';
export { scoreCsv, CsvError } from './csv.js';
export { DETECT_CHECKS, DETECT_ENV } from './config.js';

/** Detector settings from the (validated) configuration. */
export function engineOptions(config: Config): EngineOptions {
  return {
    settings: { ...DEFAULT_ENGINE.settings, scoreHalf: config.DETECT_SCORE_HALF, warmup: config.DETECT_WARMUP_SAMPLES },
    hysteresis: { ...DEFAULT_ENGINE.hysteresis, open: config.DETECT_OPEN_THRESHOLD, close: config.DETECT_CLOSE_THRESHOLD, closeAfter: config.DETECT_CLOSE_AFTER },
    maxMetrics: config.DETECT_MAX_METRICS,
  };
}

export function createDetector(ctx: ComponentContext): Component {
  const { config } = ctx;
  const processor = new DetectProcessor(ctx.kafka, ctx.log, {
    ...engineOptions(config),
    groupId: `${config.KAFKA_TOPIC_PREFIX}detect`,
    snapshotIntervalMs: config.DETECT_SNAPSHOT_INTERVAL_MS,
    maxServices: config.DETECT_MAX_SERVICES,
  });
  return {
    name: 'detect',
    start: () => processor.start(),
    stop: () => processor.stop(),
    health: () => processor.health(),
  };
}
