/**
 * Sampling token sequences from a process. Path-based sampling walks the hidden states (HMMs
 * only; exact and cheap); belief-based sampling draws each token from P(· | η) and updates η,
 * which also works for generalized HMMs whose states are not probabilities.
 */

import { UserError } from "../../util/errors.ts";
import type { Process } from "./process.ts";
import type { KeyedXoshiro128 } from "../../util/random.ts";

/** How tokens are drawn: through hidden-state paths or through beliefs. */
export type SamplingMethod = "path" | "belief";

/** Per-state cumulative law over (token, next state) pairs, for path sampling. */
export interface PathTable {
  /** `cumulative[i]` has `vocab × nStates` entries, pair index = token · nStates + next. */
  cumulative: Float64Array[];
  initial: Float64Array;
}

/** Precomputes the cumulative tables path sampling needs. */
export function pathTable(process: Process): PathTable {
  if (!process.isHmm) {
    throw new UserError(
      `${process.name}: path sampling needs an HMM; use sampling: belief for a generalized HMM`,
    );
  }
  const n = process.nStates;
  const cumulative: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Float64Array(process.vocabSize * n);
    let acc = 0;
    for (let k = 0; k < process.vocabSize; k++) {
      for (let j = 0; j < n; j++) {
        acc += process.matrices[k][i * n + j];
        c[k * n + j] = acc;
      }
    }
    cumulative.push(c);
  }
  const initial = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) initial[i] = acc += process.stationary[i];
  return { cumulative, initial };
}

/** `length` tokens by walking hidden states from a stationary start, written into `out`. */
export function samplePath(
  process: Process,
  table: PathTable,
  rng: KeyedXoshiro128,
  out: Int32Array,
): void {
  const n = process.nStates;
  let state = rng.pickCumulative(table.initial);
  for (let t = 0; t < out.length; t++) {
    const pair = rng.pickCumulative(table.cumulative[state]);
    out[t] = Math.floor(pair / n);
    state = pair % n;
  }
}

/** `length` tokens drawn from the next-token law of the running belief, written into `out`. */
export function sampleByBelief(process: Process, rng: KeyedXoshiro128, out: Int32Array): void {
  let belief: Float64Array = Float64Array.from(process.stationary);
  const cumulative = new Float64Array(process.vocabSize);
  for (let t = 0; t < out.length; t++) {
    const probs = process.nextTokenProbs(belief);
    let acc = 0;
    for (let k = 0; k < probs.length; k++) cumulative[k] = acc += probs[k];
    const token = rng.pickCumulative(cumulative);
    out[t] = token;
    belief = process.update(belief, token);
  }
}
