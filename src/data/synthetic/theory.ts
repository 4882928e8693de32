/**
 * Exact information theory of a process through its mixed-state tree: the beliefs reached after
 * every prefix, with equal beliefs merged. Myopic entropies h(L) = H(X_{L+1} | X_1..X_L), the
 * entropy rate, and the best mean cross-entropy a model of a given context can reach (L*).
 */

import { UserError } from "../../util/errors.ts";
import type { Process } from "./process.ts";

/** Beliefs equal to this many decimals are merged (they are the same mixed state). */
const MERGE_DECIMALS = 1e10;
/** Default cap on distinct beliefs per tree level; past it the last exact h(L) stands in. */
export const DEFAULT_MAX_BELIEFS = 200_000;

/** One level of the mixed-state tree: distinct beliefs (flat, `count × nStates`) and their masses. */
export interface MixedStateLevel {
  beliefs: Float64Array;
  probs: Float64Array;
  count: number;
}

function entropyNats(probs: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) h -= probs[i] * Math.log(probs[i]);
  return h;
}

/** The tree's root: the stationary distribution with mass 1. */
export function rootLevel(process: Process): MixedStateLevel {
  return { beliefs: Float64Array.from(process.stationary), probs: Float64Array.of(1), count: 1 };
}

/**
 * Distinct beliefs with their masses. Equality is on beliefs rounded to 1e-10, looked up through
 * a numeric hash of the rounded values (string keys made the tree several times slower).
 */
class BeliefTable {
  readonly beliefs: number[] = [];
  readonly probs: number[] = [];
  private readonly rounded: number[] = [];
  private readonly buckets = new Map<number, number[]>();

  constructor(private readonly n: number) {}

  add(belief: ArrayLike<number>, mass: number): void {
    const n = this.n;
    let h = 0x811c9dc5;
    const r = new Array<number>(n);
    for (let j = 0; j < n; j++) {
      r[j] = Math.round(belief[j] * MERGE_DECIMALS);
      h = Math.imul(h ^ (r[j] | 0) ^ Math.floor(r[j] / 4294967296), 0x01000193);
    }
    const bucket = this.buckets.get(h);
    if (bucket) {
      for (const at of bucket) {
        let same = true;
        for (let j = 0; j < n && same; j++) same = this.rounded[at * n + j] === r[j];
        if (same) {
          this.probs[at] += mass;
          return;
        }
      }
    }
    const at = this.probs.length;
    if (bucket) bucket.push(at);
    else this.buckets.set(h, [at]);
    this.probs.push(mass);
    for (let j = 0; j < n; j++) {
      this.beliefs.push(belief[j]);
      this.rounded.push(r[j]);
    }
  }

  toLevel(): MixedStateLevel {
    return {
      beliefs: Float64Array.from(this.beliefs),
      probs: Float64Array.from(this.probs),
      count: this.probs.length,
    };
  }
}

/**
 * Expands every belief of a level by every possible token, merging equal children. Also returns
 * the level's myopic entropy, which falls out of the same next-token probabilities.
 */
export function expandLevel(
  process: Process,
  level: MixedStateLevel,
): { next: MixedStateLevel; entropy: number } {
  const n = process.nStates;
  const table = new BeliefTable(n);
  let entropy = 0;
  for (let s = 0; s < level.count; s++) {
    const b = level.beliefs.subarray(s * n, (s + 1) * n);
    for (let k = 0; k < process.vocabSize; k++) {
      const child = process.propagate(b, k);
      const p = process.dotNormalizer(child);
      if (!(p > 0)) continue;
      entropy -= level.probs[s] * p * Math.log(p);
      for (let j = 0; j < n; j++) child[j] /= p;
      table.add(child, level.probs[s] * p);
    }
  }
  return { next: table.toLevel(), entropy };
}

/** Expands every belief of a level by every possible token, merging equal children. */
export function nextLevel(process: Process, level: MixedStateLevel): MixedStateLevel {
  return expandLevel(process, level).next;
}

function levelEntropy(process: Process, level: MixedStateLevel): number {
  const n = process.nStates;
  let h = 0;
  for (let s = 0; s < level.count; s++) {
    const probs = process.nextTokenProbs(level.beliefs.subarray(s * n, (s + 1) * n));
    h += level.probs[s] * entropyNats(probs);
  }
  return h;
}

/** Myopic entropies h(0..maxLength) where the tree stayed within the belief cap. */
export interface MyopicEntropies {
  /** `values[L]` = h(L) in nats, exact for L ≤ `exactUpTo`, the rate estimate beyond. */
  values: number[];
  /** Largest L whose h(L) was computed exactly. */
  exactUpTo: number;
  /** Distinct beliefs at each exactly computed level. */
  beliefCounts: number[];
}

/**
 * h(L) for L = 0..maxLength by exact enumeration of the mixed-state tree. When a level would
 * exceed `maxBeliefs` distinct beliefs, the remaining h(L) are set to the last exact value: h(L)
 * decreases monotonically to the entropy rate, so this is the tightest exact upper bound known.
 */
export function myopicEntropies(
  process: Process,
  maxLength: number,
  opts: { maxBeliefs?: number } = {},
): MyopicEntropies {
  const maxBeliefs = opts.maxBeliefs ?? DEFAULT_MAX_BELIEFS;
  const values: number[] = [];
  const beliefCounts: number[] = [];
  let level = rootLevel(process);
  for (let length = 0; length <= maxLength; length++) {
    beliefCounts.push(level.count);
    if (length === maxLength || level.count * process.vocabSize > maxBeliefs) {
      values.push(levelEntropy(process, level));
      break;
    }
    const { next, entropy } = expandLevel(process, level);
    values.push(entropy);
    level = next;
  }
  const exactUpTo = values.length - 1;
  while (values.length <= maxLength) values.push(values[exactUpTo]);
  return { values, exactUpTo, beliefCounts };
}

/** An entropy-rate estimate with how it was obtained. */
export interface EntropyRateEstimate {
  /** Nats per token. */
  rate: number;
  /** h(L) at the length used. */
  length: number;
  /** |h(L) − h(L−1)|: how far the myopic entropies were still moving. */
  lastChange: number;
}

/**
 * The entropy rate estimated as h(L) at the longest L the tree allows (up to `maxLength`,
 * default 256), stopping early once h changes by less than 1e-13. Processes with finitely many
 * mixed states (rrxor, zero_one_random) reach any length; mess3 stops near L = 11 where
 * h(L) is within about 1e-6 of the rate.
 */
export function entropyRate(
  process: Process,
  opts: { maxLength?: number; maxBeliefs?: number } = {},
): EntropyRateEstimate {
  const maxLength = opts.maxLength ?? 256;
  const maxBeliefs = opts.maxBeliefs ?? DEFAULT_MAX_BELIEFS;
  let level = rootLevel(process);
  let previous = NaN;
  let change = Infinity;
  let length = -1;
  while (length < maxLength && level.count * process.vocabSize <= maxBeliefs) {
    const { next, entropy } = expandLevel(process, level);
    change = Math.abs(previous - entropy);
    previous = entropy;
    level = next;
    length++;
    if (change < 1e-13 && length >= 3) break;
  }
  if (length < maxLength && !(change < 1e-13)) {
    // stopped by the belief cap: the last level's entropy needs no expansion
    const entropy = levelEntropy(process, level);
    change = Math.abs(previous - entropy);
    previous = entropy;
    length++;
  }
  return { rate: previous, length, lastChange: change };
}

/**
 * Every distinct belief reachable from π by prefixes of length ≤ maxLength (π included), flat
 * `count × nStates`. For rrxor(0.5, 0.5) there are 36.
 */
export function reachableBeliefs(
  process: Process,
  maxLength: number,
  opts: { maxBeliefs?: number } = {},
): { beliefs: Float64Array; count: number } {
  const maxBeliefs = opts.maxBeliefs ?? DEFAULT_MAX_BELIEFS;
  const n = process.nStates;
  const seen = new BeliefTable(n);
  let level = rootLevel(process);
  for (let length = 0; length <= maxLength; length++) {
    const before = seen.probs.length;
    for (let s = 0; s < level.count; s++) seen.add(level.beliefs.subarray(s * n, (s + 1) * n), 0);
    if (length > 0 && seen.probs.length === before) break; // nothing new: the set is closed
    if (seen.probs.length > maxBeliefs) {
      throw new UserError(`${process.name}: more than ${maxBeliefs} distinct beliefs`);
    }
    if (length < maxLength) level = nextLevel(process, level);
  }
  return { beliefs: Float64Array.from(seen.beliefs), count: seen.probs.length };
}

/** Options of the optimal-loss computation: the model's context and the special tokens. */
export interface OptimalLossOptions {
  /** Model context length (positions predicted per sequence). */
  nCtx: number;
  /** Inputs start with BOS, so the first position predicts x1 from nothing (h(0)). */
  bos?: boolean;
  /** Sequences end with EOS, predicted with certainty at the last position (loss 0). */
  eos?: boolean;
  /** Cap on distinct beliefs per tree level (default 200,000). */
  maxBeliefs?: number;
}

/**
 * L*: the lowest mean cross-entropy (nats) any model can reach on this process with `nCtx`
 * positions — the average of the myopic entropies of the positions it predicts.
 * With BOS: (1/N) Σ_{p=0..N−1} h(p); without: (1/N) Σ_{p=1..N} h(p). EOS replaces the last
 * predicted token by a certain one. Past the exact-enumeration cap, h(L) is taken as the last
 * exact value (see `myopicEntropies`).
 *
 * @example
 * ```ts
 * optimalLoss(processes.mess3({ x: 0.05, a: 0.85 }), { nCtx: 6, bos: true }); // 0.85939…
 * ```
 */
export function optimalLoss(process: Process, opts: OptimalLossOptions): number {
  const { nCtx } = opts;
  const bos = opts.bos ?? false;
  const eos = opts.eos ?? false;
  if (!Number.isInteger(nCtx) || nCtx < 1) {
    throw new UserError(`optimal loss: nCtx must be a positive integer, got ${nCtx}`);
  }
  const first = bos ? 0 : 1;
  // with EOS the last position predicts EOS (free); the process positions are one fewer
  const processPositions = eos ? nCtx - 1 : nCtx;
  if (processPositions < 0) throw new UserError("optimal loss: nCtx too small for EOS");
  const h = myopicEntropies(process, first + processPositions, { maxBeliefs: opts.maxBeliefs });
  let total = 0;
  for (let p = first; p < first + processPositions; p++) total += h.values[p];
  return total / nCtx;
}
