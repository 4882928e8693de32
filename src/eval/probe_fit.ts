/**
 * Weighted affine least squares in float64 for linear probes: fit Y ≈ X W + b by the normal
 * equations on centred data (Cholesky with a tiny ridge, because residual-stream features can be
 * collinear), and score the fit by MSE and R², in-sample, cross-validated and against a control
 * whose targets were shuffled.
 *
 * @module
 */

import { KeyedXoshiro128 } from "../util/random.ts";

/** A design: `n` rows of `dIn` features (float32 is plenty for activations) and row weights. */
export interface ProbeData {
  /** Row-major `[n, dIn]`. */
  x: Float32Array | Float64Array;
  /** Row-major `[n, dOut]`. */
  y: Float64Array;
  /** Per-row weights (multiplicities); all 1 when absent. */
  w?: Float64Array;
  n: number;
  dIn: number;
  dOut: number;
}

/** An affine map: `predict(x) = x · weight + bias`, `weight` row-major `[dIn, dOut]`. */
export interface AffineFit {
  weight: Float64Array;
  bias: Float64Array;
  dIn: number;
  dOut: number;
}

/** Relative ridge added to the diagonal: negligible for a well-posed fit, rescues a singular one. */
const RIDGE = 1e-9;

function rowWeight(d: ProbeData, i: number): number {
  return d.w ? d.w[i] : 1;
}

/** Fits the affine map minimising Σ w_i ‖x_i W + b − y_i‖² over the rows in `rows` (default all). */
export function fitAffine(d: ProbeData, rows?: Int32Array): AffineFit {
  const { dIn, dOut } = d;
  const count = rows ? rows.length : d.n;
  const meanX = new Float64Array(dIn);
  const meanY = new Float64Array(dOut);
  let total = 0;
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r;
    const w = rowWeight(d, i);
    total += w;
    for (let a = 0; a < dIn; a++) meanX[a] += w * d.x[i * dIn + a];
    for (let c = 0; c < dOut; c++) meanY[c] += w * d.y[i * dOut + c];
  }
  for (let a = 0; a < dIn; a++) meanX[a] /= total;
  for (let c = 0; c < dOut; c++) meanY[c] /= total;

  const gram = new Float64Array(dIn * dIn);
  const cross = new Float64Array(dIn * dOut);
  const xc = new Float64Array(dIn);
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r;
    const w = rowWeight(d, i);
    for (let a = 0; a < dIn; a++) xc[a] = d.x[i * dIn + a] - meanX[a];
    for (let a = 0; a < dIn; a++) {
      const wa = w * xc[a];
      if (wa === 0) continue;
      for (let b = a; b < dIn; b++) gram[a * dIn + b] += wa * xc[b];
      for (let c = 0; c < dOut; c++) cross[a * dOut + c] += wa * (d.y[i * dOut + c] - meanY[c]);
    }
  }
  for (let a = 0; a < dIn; a++) for (let b = 0; b < a; b++) gram[a * dIn + b] = gram[b * dIn + a];
  let trace = 0;
  for (let a = 0; a < dIn; a++) trace += gram[a * dIn + a];
  const ridge = RIDGE * Math.max(trace / dIn, 1e-300);
  for (let a = 0; a < dIn; a++) gram[a * dIn + a] += ridge;

  const weight = solveCholesky(gram, cross, dIn, dOut);
  const bias = new Float64Array(dOut);
  for (let c = 0; c < dOut; c++) {
    let s = meanY[c];
    for (let a = 0; a < dIn; a++) s -= meanX[a] * weight[a * dOut + c];
    bias[c] = s;
  }
  return { weight, bias, dIn, dOut };
}

/** Solves (L Lᵀ) X = B for a symmetric positive definite `[n, n]` matrix and `[n, m]` B. */
function solveCholesky(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) l[i * n + i] = Math.sqrt(Math.max(s, 1e-300));
      else l[i * n + j] = s / l[j * n + j];
    }
  }
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * m + c];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k * m + c];
      x[i * m + c] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * m + c];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k * m + c];
      x[i * m + c] = s / l[i * n + i];
    }
  }
  return x;
}

/** The fit's prediction for row i of `d`, written into `out`. */
export function predictRow(fit: AffineFit, d: ProbeData, i: number, out: Float64Array): void {
  const { dIn, dOut } = fit;
  for (let c = 0; c < dOut; c++) out[c] = fit.bias[c];
  for (let a = 0; a < dIn; a++) {
    const xa = d.x[i * dIn + a];
    if (xa === 0) continue;
    for (let c = 0; c < dOut; c++) out[c] += xa * fit.weight[a * dOut + c];
  }
}

/** Predictions for every row, row-major `[n, dOut]`. */
export function predictAll(fit: AffineFit, d: ProbeData): Float64Array {
  const out = new Float64Array(d.n * d.dOut);
  const row = new Float64Array(d.dOut);
  for (let i = 0; i < d.n; i++) {
    predictRow(fit, d, i, row);
    out.set(row, i * d.dOut);
  }
  return out;
}

/** Weighted MSE (per coordinate) and R² (1 − SS_res / SS_tot over all coordinates). */
export interface FitScore {
  mse: number;
  r2: number;
}

/**
 * Scores predictions against `y` over `rows` (default all): MSE is the weighted mean over rows
 * and coordinates of the squared error; R² compares the residual to the spread of `y` around its
 * weighted mean.
 */
export function scoreFit(
  y: Float64Array,
  pred: Float64Array,
  d: Pick<ProbeData, "w" | "n" | "dOut">,
  rows?: Int32Array,
): FitScore {
  const { dOut } = d;
  const count = rows ? rows.length : d.n;
  const mean = new Float64Array(dOut);
  let total = 0;
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r;
    const w = d.w ? d.w[i] : 1;
    total += w;
    for (let c = 0; c < dOut; c++) mean[c] += w * y[i * dOut + c];
  }
  for (let c = 0; c < dOut; c++) mean[c] /= total;
  let ssRes = 0;
  let ssTot = 0;
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r;
    const w = d.w ? d.w[i] : 1;
    for (let c = 0; c < dOut; c++) {
      ssRes += w * (pred[i * dOut + c] - y[i * dOut + c]) ** 2;
      ssTot += w * (y[i * dOut + c] - mean[c]) ** 2;
    }
  }
  return { mse: ssRes / (total * dOut), r2: ssTot > 0 ? 1 - ssRes / ssTot : 0 };
}

/** The row indices of fold `k` of `folds` (a seeded shuffle, then round robin) and the rest. */
export function foldRows(
  n: number,
  folds: number,
  seed: number,
): { train: Int32Array; test: Int32Array }[] {
  const order = permutation(n, seed);
  const out: { train: Int32Array; test: Int32Array }[] = [];
  for (let k = 0; k < folds; k++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let r = 0; r < n; r++) (r % folds === k ? test : train).push(order[r]);
    out.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return out;
}

/** A seeded random permutation of 0..n−1 (Fisher–Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const rng = new KeyedXoshiro128([seed, 0x9e47]);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** In-sample, cross-validated and shuffled-control scores of an affine probe. */
export interface ProbeScores {
  mse: number;
  r2: number;
  cv_mse: number;
  cv_r2: number;
  shuffled_mse: number;
  shuffled_r2: number;
}

/**
 * Fits and scores a probe three ways: on all rows; k-fold cross-validated (each row predicted by
 * the fit that did not see it); and with the targets shuffled across rows, the control that shows
 * how much a probe of this size fits by chance.
 */
export function probeScores(d: ProbeData, opts: { folds?: number; seed?: number } = {}): {
  scores: ProbeScores;
  fit: AffineFit;
  predictions: Float64Array;
} {
  const folds = opts.folds ?? 5;
  const seed = opts.seed ?? 0;
  const fit = fitAffine(d);
  const predictions = predictAll(fit, d);
  const inSample = scoreFit(d.y, predictions, d);

  const cvPred = new Float64Array(d.n * d.dOut);
  const row = new Float64Array(d.dOut);
  for (const { train, test } of foldRows(d.n, folds, seed)) {
    const f = fitAffine(d, train);
    for (const i of test) {
      predictRow(f, d, i, row);
      cvPred.set(row, i * d.dOut);
    }
  }
  const cv = scoreFit(d.y, cvPred, d);

  const perm = permutation(d.n, seed + 1);
  const shuffledY = new Float64Array(d.y.length);
  for (let i = 0; i < d.n; i++) {
    shuffledY.set(d.y.subarray(perm[i] * d.dOut, (perm[i] + 1) * d.dOut), i * d.dOut);
  }
  const shuffled = { ...d, y: shuffledY };
  const shuffledScore = scoreFit(shuffledY, predictAll(fitAffine(shuffled), shuffled), shuffled);

  return {
    scores: {
      mse: inSample.mse,
      r2: inSample.r2,
      cv_mse: cv.mse,
      cv_r2: cv.r2,
      shuffled_mse: shuffledScore.mse,
      shuffled_r2: shuffledScore.r2,
    },
    fit,
    predictions,
  };
}
