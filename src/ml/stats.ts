/** Small numeric helpers of the pipeline: seeded randomness, scalers, regression metrics, a linear baseline. */
import { Random } from '../timeseries/random.ts';

/** A seeded uniform [0, 1) generator, so splits and searches are reproducible. */
export function seededRandom(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** A standard normal draw (Box-Muller). */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Fisher-Yates shuffle of 0..n-1. */
export function shuffledIndices(n: number, random: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}

/** A row-major matrix: `rows` x `cols` numbers. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export function toMatrix(vectors: number[][], cols: number): Matrix {
  const data = new Float32Array(vectors.length * cols);
  vectors.forEach((v, i) => {
    data.set(v, i * cols);
  });
  return { data, rows: vectors.length, cols };
}

export function matrixRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
}

/** Per-column standardisation, fitted on the training split only. */
export interface Scaler {
  mean: number[];
  std: number[];
}

export function fitScaler(m: Matrix): Scaler {
  const mean = new Array<number>(m.cols).fill(0);
  const sq = new Array<number>(m.cols).fill(0);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) mean[j]! += m.data[i * m.cols + j]!;
  for (let j = 0; j < m.cols; j++) mean[j] = mean[j]! / Math.max(1, m.rows);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) sq[j]! += (m.data[i * m.cols + j]! - mean[j]!) ** 2;
  // A constant column keeps std 1, so it scales to 0 instead of dividing by zero.
  const std = sq.map((s) => Math.sqrt(s / Math.max(1, m.rows)) || 1);
  return { mean, std: std.map((s) => (s < 1e-12 ? 1 : s)) };
}

export function scale(m: Matrix, s: Scaler): Matrix {
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++)
    for (let j = 0; j < m.cols; j++) data[i * m.cols + j] = (m.data[i * m.cols + j]! - s.mean[j]!) / s.std[j]!;
  return { data, rows: m.rows, cols: m.cols };
}

export function unscale(m: Matrix, s: Scaler): Matrix {
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++)
    for (let j = 0; j < m.cols; j++) data[i * m.cols + j] = m.data[i * m.cols + j]! * s.std[j]! + s.mean[j]!;
  return { data, rows: m.rows, cols: m.cols };
}

/** RMSE, MAE and R² of the first target column (the regression metrics of single-target kinds). */
export function regressionMetrics(
  predicted: number[][],
  actual: number[][],
  column = 0,
): { rmse: number; mae: number; r2: number } {
  const n = actual.length;
  if (!n) return { rmse: Number.NaN, mae: Number.NaN, r2: Number.NaN };
  let se = 0;
  let ae = 0;
  let mean = 0;
  for (const row of actual) mean += row[column]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i]![column]! - actual[i]![column]!;
    se += e * e;
    ae += Math.abs(e);
    ss += (actual[i]![column]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: ss > 0 ? 1 - se / ss : 0 };
}

/**
 * Ordinary least squares with an intercept (a tiny ridge keeps it solvable on collinear data):
 * the classic baseline every trained network is compared with, fitted on the same split.
 */
export function fitLinear(x: Matrix, y: Matrix, ridge = 1e-6): { weights: number[][]; predict(m: Matrix): Matrix } {
  const d = x.cols + 1;
  const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const xty = Array.from({ length: d }, () => new Array<number>(y.cols).fill(0));
  const row = new Array<number>(d).fill(1);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) row[j + 1] = x.data[i * x.cols + j]!;
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) xtx[a]![b]! += row[a]! * row[b]!;
      for (let t = 0; t < y.cols; t++) xty[a]![t]! += row[a]! * y.data[i * y.cols + t]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < a; b++) xtx[a]![b] = xtx[b]![a]!;
    if (a > 0) xtx[a]![a]! += ridge * x.rows;
  }
  const weights = solve(xtx, xty);
  return {
    weights,
    predict(m: Matrix): Matrix {
      const data = new Float32Array(m.rows * y.cols);
      for (let i = 0; i < m.rows; i++) {
        for (let t = 0; t < y.cols; t++) {
          let v = weights[0]![t]!;
          for (let j = 0; j < m.cols; j++) v += weights[j + 1]![t]! * m.data[i * m.cols + j]!;
          data[i * y.cols + t] = v;
        }
      }
      return { data, rows: m.rows, cols: y.cols };
    },
  };
}

/** Solves A·X = B by Gaussian elimination with partial pivoting (A is small: features + 1). */
function solve(a: number[][], b: number[][]): number[][] {
  const n = a.length;
  const A = a.map((r) => [...r]);
  const B = b.map((r) => [...r]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    [B[c], B[p]] = [B[p]!, B[c]!];
    const pivot = A[c]![c]! || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / pivot;
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r]![k]! -= f * A[c]![k]!;
      for (let k = 0; k < B[r]!.length; k++) B[r]![k]! -= f * B[c]![k]!;
    }
  }
  return B.map((row, i) => row.map((v) => v / (A[i]![i]! || 1e-12)));
}
