/** Anomaly detection as a component: the detect loop over metrics.samples, with the detector settings from the configuration. */
import type { Component, ComponentContext, ComponentHealth } from '../app/component.ts';
import type { Config } from '../config/index.ts';
import { DEFAULT_ENGINE, type EngineOptions } from './engine.ts';
import { DetectLoop } from './loop.ts';

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

export class DetectComponent implements Component {
  readonly name = 'detect';
  readonly loop: DetectLoop;

  constructor(ctx: ComponentContext) {
    const { config } = ctx;
    this.loop = new DetectLoop(ctx.kafka, ctx.log, {
      ...engineOptions(config),
      groupId: ctx.kafka.groupId('detect'),
      snapshotIntervalMs: config.DETECT_SNAPSHOT_INTERVAL_MS,
      maxServices: config.DETECT_MAX_SERVICES,
    });
  }

  start(): Promise<void> {
    return this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  health(): ComponentHealth {
    return this.loop.health();
  }
}

export function createDetector(ctx: ComponentContext): Component {
  return new DetectComponent(ctx);
}
