/** Online anomaly detection: the component, and the detector for offline use (`automatrix detect`). */

export { createDetector, DetectComponent, engineOptions } from './component.ts';
export { DETECT_CHECKS, DETECT_ENV } from './config.ts';
export { CsvError, scoreCsv } from './csv.ts';
export { type EngineOptions, ServiceState, STANDARD_METRICS } from './engine.ts';
export { DEFAULT_HYSTERESIS, type HysteresisSettings, IncidentTracker } from './incidents.ts';
export { DetectLoop } from './loop.ts';
export { KIND_NAMES, ServiceDetector } from './service-detector.ts';
export { DEFAULT_SETTINGS, type DetectorSettings, KINDS, UnivariateDetector } from './univariate.ts';
