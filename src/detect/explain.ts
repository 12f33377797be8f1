/** Turns a service detector's state into Anomaly records: contributions and one sentence for a person. */
import type { AnomalyInput, AnomalyKind, MetricContribution } from '../../schemas/index.ts';
import type { IncidentView, Transition } from './incidents.ts';
import { KIND_MULTIVARIATE, KIND_NAMES, type MetricScore, type ServiceDetector } from './service-detector.ts';

const UNITS: Record<string, string> = { cpu_usage: '%', memory_usage: '%', error_rate: '%', network_latency: ' ms' };

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2));
const withUnit = (metric: string, v: number) => `${fmt(v)}${UNITS[metric] ?? ''}`;
const kindName = (kind: number) => (KIND_NAMES[kind] ?? 'unknown').replace('_', ' ');

/** Metrics involved: those scoring 0.3 or more (or the lead one), most anomalous first, at most 5. */
function involved(rows: MetricScore[], multivariate: boolean): MetricScore[] {
  const strong = rows.filter((r) => r.score >= 0.3 || (multivariate && r.share >= 0.2));
  return (strong.length ? strong : rows.slice(0, 1)).slice(0, 5);
}

function sentence(
  service: string,
  transition: Transition,
  kind: number,
  rows: MetricScore[],
  score: number,
  incident: IncidentView,
  at: number,
): string {
  const lead = rows[0];
  if (!lead) return `${service} shows an anomaly (score ${score.toFixed(2)}).`;
  if (transition === 'CLOSED') {
    const minutes = Math.max(0, Math.round((at - incident.startedAt) / 60_000));
    return `The ${kindName(incident.kind)} on ${service} (${lead.metric}) is over after ${minutes} min; its peak score was ${incident.peak.toFixed(2)}.`;
  }
  const range = `${withUnit(lead.metric, lead.expectedLow)}–${withUnit(lead.metric, lead.expectedHigh)}`;
  if (kind === KIND_MULTIVARIATE) {
    const others = rows.slice(1, 3).map((r) => r.metric);
    const rel = others.length ? ` relative to ${others.join(' and ')}` : '';
    return `${service}'s metrics stopped moving together: ${lead.metric} is ${withUnit(lead.metric, lead.value)}${rel}, an unusual combination (score ${score.toFixed(2)}).`;
  }
  const direction = lead.value > lead.expectedHigh ? 'rose to' : lead.value < lead.expectedLow ? 'fell to' : 'is at';
  const also =
    rows.length > 1
      ? `, with ${rows
          .slice(1, 3)
          .map((r) => r.metric)
          .join(' and ')} also unusual`
      : '';
  return `${lead.metric} of ${service} ${direction} ${withUnit(lead.metric, lead.value)} where ${range} was expected: a ${kindName(kind)} (score ${score.toFixed(2)})${also}.`;
}

export function anomalyRecord(
  service: string,
  transition: Transition,
  detector: ServiceDetector,
  incident: IncidentView,
  at: number,
): AnomalyInput {
  const all = detector.explain();
  // A closing record names what the incident was about, with the values those metrics have now.
  const rows =
    transition === 'CLOSED' && incident.metrics?.length
      ? incident.metrics.map((m) => all.find((r) => r.metric === m)).filter((r): r is MetricScore => r !== undefined)
      : involved(all, detector.kind === KIND_MULTIVARIATE);
  if (transition !== 'CLOSED') incident.metrics = rows.map((r) => r.metric);
  const kind = transition === 'CLOSED' ? incident.kind : detector.kind;
  const score = transition === 'CLOSED' ? incident.peak : detector.score;
  const totalShare = rows.reduce((s, r) => s + Math.max(r.share, r.score), 0);
  const contributions: MetricContribution[] = rows.map((r) => ({
    metric: r.metric,
    value: r.value,
    expectedLow: r.expectedLow,
    expectedHigh: r.expectedHigh,
    score: r.score,
    share: totalShare > 0 ? Math.max(r.share, r.score) / totalShare : 1 / rows.length,
  }));
  return {
    id: incident.id,
    service,
    state: transition,
    kind: anomalyKind(kind),
    metrics: rows.map((r) => r.metric),
    score: Math.min(1, Math.max(0, score)),
    contributions,
    explanation: sentence(service, transition, kind, rows, score, incident, at),
    startedAt: incident.startedAt,
    at,
    endedAt: transition === 'CLOSED' ? at : null,
  };
}

/** The contract's name of a detector kind; `none` (no lead kind) is `unknown`. */
function anomalyKind(kind: number): AnomalyKind {
  const name = KIND_NAMES[kind];
  return name === undefined || name === 'none' ? 'unknown' : name;
}
