/**
 * `npm run bench:detect`: samples scored per second on one core (this process is single
 * threaded), univariate (one metric per sample) and multivariate (a service sample of the five
 * standard metrics scored per metric and jointly). Counted per metric sample, so the two
 * figures compare. Pure scoring, no Kafka: the detector's own cost. The rolling z-score runs
 * in the same process for scale.
 */
import { ServiceDetector } from '../src/detect/service-detector.ts';
import { UnivariateDetector } from '../src/detect/univariate.ts';
import { streamsOf } from '../src/timeseries/synthetic.ts';
import { rollingZScores } from './lib/detect-eval.ts';
import { writeResult } from './lib/result.ts';

const streams = streamsOf('spike', 5, 42, { days: 70 });
const total = streams.reduce((n, s) => n + s.x.length, 0);

function timed(fn: () => void, rounds = 3): number {
  fn(); // warm-up (JIT)
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

let sink = 0;
const uniSeconds = timed(() => {
  for (const s of streams) {
    const d = new UnivariateDetector();
    for (let i = 0; i < s.x.length; i++) sink += d.update(s.t[i]!, s.x[i]!);
  }
});

// Multivariate: the 5 streams are the 5 metrics of one service.
const n = Math.min(...streams.map((s) => s.x.length));
const multiSeconds = timed(() => {
  const d = new ServiceDetector(8);
  const slots = ['cpu_usage', 'memory_usage', 'network_latency', 'error_rate', 'request_count'].map((m) => d.slot(m));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 5; k++) d.set(slots[k]!, streams[k]!.x[i]!);
    sink += d.update(streams[0]!.t[i]!);
  }
});

const zSeconds = timed(() => {
  for (const s of streams) sink += rollingZScores(s.x)[0]!;
});

const univariate = Math.round(total / uniSeconds);
const multivariate = Math.round((n * 5) / multiSeconds);
console.log(`univariate:   ${univariate.toLocaleString()} samples/s (${total} samples in ${uniSeconds.toFixed(3)} s)`);
console.log(
  `multivariate: ${multivariate.toLocaleString()} metric samples/s (${n} service samples x 5 metrics in ${multiSeconds.toFixed(3)} s) = ${Math.round(n / multiSeconds).toLocaleString()} service samples/s`,
);
console.log(
  `rolling z-score baseline: ${Math.round(total / zSeconds).toLocaleString()} samples/s; goal: 200,000 univariate samples/s on one core`,
);
writeResult(
  'detect',
  { univariate_samples_per_s: univariate, multivariate_samples_per_s: multivariate },
  {
    service_samples_per_s: Math.round(n / multiSeconds),
    rolling_z_samples_per_s: Math.round(total / zSeconds),
    samples: total,
    goal_univariate: 200_000,
    sink,
  },
);
