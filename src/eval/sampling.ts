/** Choosing the next token from logits: greedy, temperature, top-k and top-p (nucleus). */

import { UserError } from "../util/errors.ts";
import { Mulberry32 } from "../util/random.ts";

/** How to pick the next token. `temperature: 0` is greedy. */
export interface SamplingOptions {
  temperature: number;
  topK?: number;
  topP?: number;
}

/** Checks sampling options; top-k and top-p together is refused rather than silently combined. */
export function validateSampling(opts: SamplingOptions): SamplingOptions {
  if (!(opts.temperature >= 0)) {
    throw new UserError(`temperature: expected a number ≥ 0, found ${opts.temperature}`);
  }
  if (opts.topK !== undefined && opts.topP !== undefined) {
    throw new UserError("top-k and top-p are mutually exclusive: give one of --top-k or --top-p");
  }
  if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 1)) {
    throw new UserError(`top-k: expected an integer ≥ 1, found ${opts.topK}`);
  }
  if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1)) {
    throw new UserError(`top-p: expected a number in (0, 1], found ${opts.topP}`);
  }
  return opts;
}

/** The generator `--seed` fixes for sampling (mulberry32), under the name callers know. */
export { Mulberry32 as SamplingRng };

/** Index of the largest logit (the first one on ties, like torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Probabilities after temperature, top-k / top-p filtering; entries filtered out are 0.
 * Exposed for tests and for showing the distribution in the chat.
 */
export function filteredProbabilities(
  logits: ArrayLike<number>,
  opts: SamplingOptions,
): Float64Array {
  const n = logits.length;
  const probs = new Float64Array(n);
  const t = opts.temperature;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    probs[i] = Math.exp((logits[i] - max) / t);
    sum += probs[i];
  }
  for (let i = 0; i < n; i++) probs[i] /= sum;
  if (opts.topK === undefined && opts.topP === undefined) return probs;

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  let keep = n;
  if (opts.topK !== undefined) keep = Math.min(n, opts.topK);
  if (opts.topP !== undefined) {
    // Keep the smallest prefix whose mass reaches top_p (the token that crosses it stays in).
    let mass = 0;
    for (let r = 0; r < n; r++) {
      mass += probs[order[r]];
      if (mass >= opts.topP) {
        keep = r + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let r = keep; r < n; r++) probs[order[r]] = 0;
  for (let r = 0; r < keep; r++) kept += probs[order[r]];
  for (let r = 0; r < keep; r++) probs[order[r]] /= kept;
  return probs;
}

/** Picks the next token id from `logits` (one row) under `opts`, drawing from `rng`. */
export function sampleToken(
  logits: ArrayLike<number>,
  opts: SamplingOptions,
  rng: Mulberry32,
): number {
  if (opts.temperature === 0) return argmax(logits);
  const probs = filteredProbabilities(logits, opts);
  const u = rng.next();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    acc += probs[i];
    last = i;
    if (u < acc) return i;
  }
  return last;
}
