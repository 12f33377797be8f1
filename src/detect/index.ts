/** Online anomaly detection: the component, and the detector for offline use (`automatrix detect`). */
import type { Component, ComponentContext } from '../app/component.js';
import { ConfigError, type Config } from '../config/index.js';
import { DEFAULT_ENGINE, type EngineOptions } from './engine.js';
import { DetectProcessor } from './processor.js';

export { UnivariateDetector, DEFAULT_SETTINGS, KINDS, type DetectorSettings } from './univariate.js';
export { ServiceDetector, KIND_NAMES } from './service.js';
export { IncidentTracker, DEFAULT_HYSTERESIS, type HysteresisSettings } from './incidents.js';
export { ServiceState, STANDARD_METRICS, type EngineOptions } from './engine.js';
export { DetectProcessor } from './processor.js';
export { scoreCsv, CsvError } from './csv.js';
export { DETECT_ENV } from './config.js';

/** Detector settings from the configuration (checks what one variable alone cannot). */
export function engineOptions(config: Config): EngineOptions {
  if (config.DETECT_CLOSE_THRESHOLD >= config.DETECT_OPEN_THRESHOLD) {
    throw new ConfigError('DETECT_CLOSE_THRESHOLD', `must be below DETECT_OPEN_THRESHOLD (${config.DETECT_OPEN_THRESHOLD})`);
  }
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
