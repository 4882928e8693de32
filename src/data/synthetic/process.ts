/**
 * A generative process given by token-labelled transition matrices: `T[k][i][j]` = P(emit token k
 * and move to state j | state i). Hidden Markov models have non-negative entries and a summed
 * matrix whose rows sum to 1; generalized HMMs may have any entries and carry a normalising
 * vector v (A v = v) that turns a state vector into a probability. Beliefs are row vectors η with
 * η·v = 1; P(k | η) = η T^k v and the update after k is η T^k / (η T^k v).
 */

import { UserError } from "../../util/errors.ts";

/** Tolerance for row sums and eigenvector checks of user-given matrices. */
const VALIDATION_TOLERANCE = 1e-9;

/** What defines a process: matrices as nested arrays, optionally a normalising vector (GHMM). */
export interface ProcessSpec {
  /** Display name, e.g. `mess3(x=0.05,a=0.85)`. */
  name: string;
  /** `matrices[k][i][j]`, one square matrix per token. */
  matrices: number[][][];
  /** Right eigenvector of the summed matrix with eigenvalue 1; given only for a generalized HMM. */
  normalizer?: number[];
}

/**
 * A validated process with its stationary distribution, next-token law and belief update.
 *
 * @example
 * ```ts
 * const p = new Process({ name: "coin", matrices: [[[0.3]], [[0.7]]] });
 * p.nextTokenProbs(p.stationary); // Float64Array [0.3, 0.7]
 * ```
 */
export class Process {
  readonly name: string;
  /** Number of tokens the process emits (its base vocabulary). */
  readonly vocabSize: number;
  /** Number of hidden states. */
  readonly nStates: number;
  /** `matrices[k]` is T^k, row-major `nStates × nStates`. */
  readonly matrices: readonly Float64Array[];
  /** v: all ones for an HMM. */
  readonly normalizer: Float64Array;
  /** True for an HMM (non-negative, stochastic), false for a generalized HMM. */
  readonly isHmm: boolean;
  /** π: left eigenvector of the summed matrix with eigenvalue 1, scaled so that π·v = 1. */
  readonly stationary: Float64Array;

  constructor(spec: ProcessSpec) {
    this.name = spec.name;
    const { vocabSize, nStates } = checkShapes(spec);
    this.vocabSize = vocabSize;
    this.nStates = nStates;
    this.matrices = spec.matrices.map((m) => Float64Array.from(m.flat()));
    this.isHmm = spec.normalizer === undefined;
    if (this.isHmm) {
      checkHmm(spec.name, this.matrices, nStates);
      this.normalizer = new Float64Array(nStates).fill(1);
    } else {
      this.normalizer = Float64Array.from(spec.normalizer!);
      checkNormalizer(spec.name, this.summedMatrix(), this.normalizer);
    }
    this.stationary = stationaryDistribution(spec.name, this.summedMatrix(), this.normalizer);
  }

  /** A = Σ_k T^k, row-major. */
  summedMatrix(): Float64Array {
    const n = this.nStates;
    const a = new Float64Array(n * n);
    for (const m of this.matrices) for (let i = 0; i < n * n; i++) a[i] += m[i];
    return a;
  }

  /** η T^k, unnormalised: its dot product with v is P(k | η) (for η·v = 1). */
  propagate(belief: ArrayLike<number>, token: number): Float64Array {
    const n = this.nStates;
    const m = this.matrices[token];
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const b = belief[i];
      if (b === 0) continue;
      for (let j = 0; j < n; j++) out[j] += b * m[i * n + j];
    }
    return out;
  }

  /** x·v: the probability mass of an unnormalised state vector. */
  dotNormalizer(v: ArrayLike<number>): number {
    let s = 0;
    for (let j = 0; j < this.nStates; j++) s += v[j] * this.normalizer[j];
    return s;
  }

  /** P(next token = k | η) for every k. */
  nextTokenProbs(belief: ArrayLike<number>): Float64Array {
    const probs = new Float64Array(this.vocabSize);
    const norm = this.dotNormalizer(belief);
    for (let k = 0; k < this.vocabSize; k++) {
      probs[k] = Math.max(0, this.dotNormalizer(this.propagate(belief, k)) / norm);
    }
    return probs;
  }

  /** The belief after seeing `token` from belief η; throws when the token is impossible there. */
  update(belief: ArrayLike<number>, token: number): Float64Array {
    const next = this.propagate(belief, token);
    const p = this.dotNormalizer(next);
    if (!(p > 0)) {
      throw new UserError(`${this.name}: token ${token} has probability 0 after this prefix`);
    }
    for (let j = 0; j < next.length; j++) next[j] /= p;
    return next;
  }

  /** Belief after a whole prefix, starting from π (or from `start`). */
  beliefAfter(tokens: readonly number[], start: ArrayLike<number> = this.stationary): Float64Array {
    let b: Float64Array = Float64Array.from(start);
    for (const t of tokens) b = this.update(b, t);
    return b;
  }

  /** P(tokens) from π: the product of next-token probabilities along the prefix. */
  sequenceProbability(tokens: readonly number[]): number {
    let b: Float64Array = Float64Array.from(this.stationary);
    let prob = 1;
    for (const t of tokens) {
      const p = this.nextTokenProbs(b)[t];
      if (p === 0) return 0;
      prob *= p;
      b = this.update(b, t);
    }
    return prob;
  }
}

function checkShapes(spec: ProcessSpec): { vocabSize: number; nStates: number } {
  const { name, matrices } = spec;
  if (!Array.isArray(matrices) || matrices.length < 1) {
    throw new UserError(`process ${name}: expected at least one transition matrix`);
  }
  const nStates = matrices[0]?.length;
  if (!nStates) throw new UserError(`process ${name}: matrix for token 0 is empty`);
  matrices.forEach((m, k) => {
    if (!Array.isArray(m) || m.length !== nStates) {
      throw new UserError(
        `process ${name}: matrix for token ${k} has ${m?.length} rows, expected ${nStates}`,
      );
    }
    m.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== nStates) {
        throw new UserError(
          `process ${name}: token ${k} row ${i} has ${row?.length} entries, expected ${nStates}`,
        );
      }
      row.forEach((x, j) => {
        if (typeof x !== "number" || !Number.isFinite(x)) {
          throw new UserError(`process ${name}: token ${k} entry [${i}][${j}] is not a number`);
        }
      });
    });
  });
  if (spec.normalizer !== undefined && spec.normalizer.length !== nStates) {
    throw new UserError(
      `process ${name}: normalizer has ${spec.normalizer.length} entries, expected ${nStates}`,
    );
  }
  return { vocabSize: matrices.length, nStates };
}

/** A number for a message: 12 significant digits hide float noise such as 0.8999999999999999. */
function short(x: number): string {
  return String(Number(x.toPrecision(12)));
}

function checkHmm(name: string, matrices: readonly Float64Array[], n: number): void {
  matrices.forEach((m, k) => {
    for (let i = 0; i < n * n; i++) {
      if (m[i] < 0) {
        throw new UserError(
          `process ${name}: token ${k} row ${Math.floor(i / n)} has a negative entry ` +
            `(${m[i]} in column ${i % n}); an HMM needs non-negative probabilities`,
        );
      }
    }
  });
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (const m of matrices) for (let j = 0; j < n; j++) sum += m[i * n + j];
    if (Math.abs(sum - 1) > VALIDATION_TOLERANCE) {
      throw new UserError(
        `process ${name}: row ${i} of the summed transition matrix sums to ${
          short(sum)
        }, expected 1`,
      );
    }
  }
}

function checkNormalizer(name: string, a: Float64Array, v: Float64Array): void {
  const n = v.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
    if (Math.abs(s - v[i]) > VALIDATION_TOLERANCE * Math.max(1, Math.abs(v[i]))) {
      throw new UserError(
        `process ${name}: row ${i} of (summed matrix · normalizer) is ${short(s)}, expected ${
          v[i]
        } ` +
          `(the normalizer must be a right eigenvector with eigenvalue 1)`,
      );
    }
  }
}

/**
 * Solves π (A − I) = 0 with π·v = 1 by Gaussian elimination (power iteration would not converge
 * for periodic processes such as zero_one_random).
 */
function stationaryDistribution(name: string, a: Float64Array, v: Float64Array): Float64Array {
  const n = v.length;
  // rows of (Aᵀ − I); the last equation is replaced by the normalisation vᵀπ = 1
  const m: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < n; j++) row.push(a[j * n + i] - (i === j ? 1 : 0));
    row.push(0);
    m.push(row);
  }
  m[n - 1] = [...v, 1];
  const x = solveGaussian(m, n);
  if (!x || x.some((t) => !Number.isFinite(t))) {
    throw new UserError(
      `process ${name}: no unique stationary distribution (the chain is reducible)`,
    );
  }
  return Float64Array.from(x);
}

/** Solves an augmented n×(n+1) system in place with partial pivoting; null when singular. */
function solveGaussian(m: number[][], n: number): number[] | null {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      if (f === 0) continue;
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}
