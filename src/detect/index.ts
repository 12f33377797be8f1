/** Online anomaly detection: the component, and the detector for offline use (`automatrix detect`). */
import type { Component, ComponentContext } from '../app/component.js';
import type { Config } from '../config/index.js';
import { DEFAULT_ENGINE, type EngineOptions } from './engine.js';
import { DetectProcessor } from './processor.js';

export { DETECT_CHECKS, DETECT_ENV } from './config.js';
export { CsvError, scoreCsv } from './csv.js';
export { type EngineOptions, ServiceState, STANDARD_METRICS } from './engine.js';
export { DEFAULT_HYSTERESIS, type HysteresisSettings, IncidentTracker } from './incidents.js';
export { DetectProcessor } from './processor.js';
export { KIND_NAMES, ServiceDetector } from './service.js';
export { DEFAULT_SETTINGS, type DetectorSettings, KINDS, UnivariateDetector } from './univariate.js';

/** Detector settings from the (validated) configuration. */
export function engineOptions(config: Config): EngineOptions {
  return {
    settings: { ...DEFAULT_ENGINE.settings, scoreHalf: config.DETECT_SCORE_HALF, warmup: config.DETECT_WARMUP_SAMPLES },
    hysteresis: {
      ...DEFAULT_ENGINE.hysteresis,
      open: config.DETECT_OPEN_THRESHOLD,
      close: config.DETECT_CLOSE_THRESHOLD,
      closeAfter: config.DETECT_CLOSE_AFTER,
    },
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
