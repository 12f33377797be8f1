import type { ApiInstance } from '../api/server.ts';
import type { Config } from '../config/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { EcosystemEvents } from './events.ts';

export type HealthStatus = 'ok' | 'degraded' | 'down' | 'stopped';

export interface ComponentHealth {
  status: HealthStatus;
  detail?: string;
}

/** What every component is given at construction. */
export interface ComponentContext {
  config: Config;
  kafka: KafkaConnection;
  log: Logger;
  events: EcosystemEvents;
}

/**
 * A part of AutoMatrix that runs in the process (relay, detect, ...). Components talk to each
 * other through Kafka topics, never through each other's internals.
 */
export interface Component {
  readonly name: string;
  /** Starts consuming/serving; resolves once running. */
  start(): Promise<void>;
  /** Stops intake, finishes or hands back in-flight work, commits offsets. */
  stop(): Promise<void>;
  health(): ComponentHealth;
  /** Registers the component's HTTP routes (mounted under /api/v2). */
  routes?(api: ApiInstance): void | Promise<void>;
  /** Registers routes outside /api/v2 (the dashboard at `/`, `/ai-ecosystem/status`); rarely needed. */
  rootRoutes?(app: ApiInstance): void | Promise<void>;
}
