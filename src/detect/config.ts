/** Environment variables of anomaly detection (spread into ENV in src/config/index.ts). */
import type { Config } from '../config/index.ts';
import { ConfigError, int, num } from '../config/vars.ts';

export const DETECT_ENV = {
  DETECT_SCORE_HALF: num('DETECT_SCORE_HALF', 1, 50, {
    description:
      'Anomaly detection: evidence (-log10 of the tail probability, Bonferroni-corrected) at which a score is 0.5 (chosen on the first halves of the real KPIs: bench:detect-eval).',
    default: 4,
  }),
  DETECT_OPEN_THRESHOLD: num('DETECT_OPEN_THRESHOLD', 0.01, 1, {
    description: 'Anomaly detection: score at which an incident opens.',
    default: 0.5,
  }),
  DETECT_CLOSE_THRESHOLD: num('DETECT_CLOSE_THRESHOLD', 0, 1, {
    description:
      'Anomaly detection: an incident closes after `DETECT_CLOSE_AFTER` samples below this score (below `DETECT_OPEN_THRESHOLD`).',
    default: 0.3,
  }),
  DETECT_CLOSE_AFTER: int('DETECT_CLOSE_AFTER', 1, 100_000, {
    description: 'Anomaly detection: samples below the close threshold that close an incident.',
    default: 12,
  }),
  DETECT_WARMUP_SAMPLES: int('DETECT_WARMUP_SAMPLES', 5, 100_000, {
    description: 'Anomaly detection: samples a new series learns from before it is scored.',
    default: 30,
  }),
  DETECT_SNAPSHOT_INTERVAL_MS: int('DETECT_SNAPSHOT_INTERVAL_MS', 1000, 86_400_000, {
    description:
      'Anomaly detection: how often a changed service state is snapshotted to `detector.state` (~47 KB gzipped per five-metric service).',
    default: 300_000,
  }),
  DETECT_MAX_SERVICES: int('DETECT_MAX_SERVICES', 1, 10_000_000, {
    description:
      'Anomaly detection: services kept in memory per instance (the least recently seen is snapshotted and dropped beyond it).',
    default: 10_000,
  }),
  DETECT_MAX_METRICS: int('DETECT_MAX_METRICS', 1, 64, {
    description: 'Anomaly detection: metrics per service (the 5 standard ones plus `extra`), further ones are ignored.',
    default: 16,
  }),
} as const;

/** Checks that span several variables, run by loadConfig. */
export const DETECT_CHECKS = [
  (config: Config) => {
    if (config.DETECT_CLOSE_THRESHOLD >= config.DETECT_OPEN_THRESHOLD) {
      throw new ConfigError(
        'DETECT_CLOSE_THRESHOLD',
        `must be below DETECT_OPEN_THRESHOLD (${config.DETECT_OPEN_THRESHOLD})`,
      );
    }
  },
];
