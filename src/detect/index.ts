/** Online anomaly detection: the component, and the detector for offline use (`automatrix detect`). */
import type { Component, ComponentContext } from '../app/component.ts';
import type { Config } from '../config/index.ts';
import { DEFAULT_ENGINE, type EngineOptions } from './engine.ts';
import { DetectProcessor } from './processor.ts';

export { DETECT_CHECKS, DETECT_ENV } from './config.ts';
export { CsvError, scoreCsv } from './csv.ts';
export { type EngineOptions, ServiceState, STANDARD_METRICS } from './engine.ts';
export { DEFAULT_HYSTERESIS, type HysteresisSettings, IncidentTracker } from './incidents.ts';
export { DetectProcessor } from './processor.ts';
export { KIND_NAMES, ServiceDetector } from './service.ts';
export { DEFAULT_SETTINGS, type DetectorSettings, KINDS, UnivariateDetector } from './univariate.ts';

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
    groupId: ctx.kafka.groupId('detect'),
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
