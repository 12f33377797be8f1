/**
 * The gateway component: a WebSocket (and SSE) mirror of allowed Kafka topics, the ecosystem feed
 * and status, delivery analytics, and the dashboard. Protocol: docs/gateway.md.
 */

export { PerformanceAnalytics } from './analytics.ts';
export { createGateway, GatewayComponent } from './component.ts';
export { DEFAULT_GATEWAY_TOPICS, GATEWAY_ENV } from './config.ts';
export { CLOSE, ECOSYSTEM_TOPICS, Gateway, WS_ECOSYSTEM_PATH, WS_PATH } from './gateway.ts';
