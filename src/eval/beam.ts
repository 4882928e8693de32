/**
 * Beam search: keep the `beams` likeliest continuations (by summed log-probability of their new
 * tokens) at every length, extend each by its likeliest tokens, and return the best one found.
 * `beams: 1` is greedy decoding. Each step runs one forward over all live beams as a batch (no KV
 * cache: beams fork, and small models recompute cheaply).
 *
 * @module
 */

import type { GPT } from "../nn/gpt.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";

/** Options of {@link beamSearch}. */
export interface BeamOptions {
  /** Continuations kept at every length (≥ 1; 1 is greedy). */
  beams: number;
  /** New tokens to produce at most. */
  maxNewTokens: number;
  /** A continuation that produces this id ends there (the id is not included). */
  stopId?: number | null;
}

/** What {@link beamSearch} found. */
export interface BeamResult {
  /** The new ids (without the prompt, without the stop id). */
  ids: number[];
  /** Σ log p(new token | everything before it), the stop id's included when it ended there. */
  logProb: number;
  /** True when the continuation ended at `stopId`. */
  stopped: boolean;
}

interface Hypothesis {
  ids: number[];
  logProb: number;
}

/** log-softmax of one row of logits, in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - max);
  const lse = max + Math.log(z);
  return Float64Array.from(logits, (x) => x - lse);
}

/** Indices of the `k` largest values (descending; the lower index first on ties). */
function topK(values: Float64Array, k: number): number[] {
  const idx = Array.from(values.keys());
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.slice(0, k);
}

/** Last-position logits of each of `seqs` (all the same length, at most the context). */
async function lastLogits(model: GPT, seqs: number[][]): Promise<Float32Array[]> {
  const [batch, T] = [seqs.length, seqs[0].length];
  const logits = tidy(() =>
    noGrad(() => {
      const ids = Tensor.fromArray(model.device, seqs.flat(), [batch, T], { dtype: "i32" });
      return model.forward(ids).logits!;
    })
  );
  const V = model.config.vocab_size;
  const rows: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const row = logits.view((b * T + T - 1) * V, [V]);
    rows.push(await row.toArray() as Float32Array);
    row.release();
  }
  logits.release();
  return rows;
}

/**
 * The likeliest continuation of `promptIds` that beam search finds (no length penalty: since
 * log-probabilities only fall, the search stops once a finished continuation beats every live
 * one). A prompt longer than the context keeps its last `max_seq_len` tokens as the window.
 *
 * @example
 * ```ts
 * const { ids, logProb } = await beamSearch(gpt, codec.encode("ROMEO:"), {
 *   beams: 4, maxNewTokens: 20,
 * });
 * ```
 */
export async function beamSearch(
  model: GPT,
  promptIds: readonly number[],
  opts: BeamOptions,
): Promise<BeamResult> {
  if (!(Number.isInteger(opts.beams) && opts.beams >= 1)) {
    throw new UserError(`--beams: expected an integer ≥ 1, found ${opts.beams}`);
  }
  if (promptIds.length === 0) throw new UserError("the prompt is empty (no tokens to start from)");
  const context = model.config.max_seq_len;
  const stopId = opts.stopId ?? null;
  let alive: Hypothesis[] = [{ ids: [], logProb: 0 }];
  const finished: Hypothesis[] = [];
  for (let n = 0; n < opts.maxNewTokens && alive.length > 0; n++) {
    const windows = alive.map((h) => [...promptIds, ...h.ids].slice(-context));
    const rows = await lastLogits(model, windows);
    const candidates: { from: number; id: number; logProb: number }[] = [];
    rows.forEach((row, from) => {
      const lp = logSoftmax(row);
      for (const id of topK(lp, opts.beams)) {
        candidates.push({ from, id, logProb: alive[from].logProb + lp[id] });
      }
    });
    candidates.sort((a, b) => b.logProb - a.logProb || a.from - b.from || a.id - b.id);
    const next: Hypothesis[] = [];
    for (const c of candidates) {
      if (next.length === opts.beams) break;
      const h = { ids: [...alive[c.from].ids, c.id], logProb: c.logProb };
      if (c.id === stopId) {
        if (finished.length < opts.beams) finished.push(h);
      } else next.push(h);
    }
    alive = next;
    const bestFinished = Math.max(...finished.map((h) => h.logProb));
    if (alive.length > 0 && bestFinished >= alive[0].logProb) break;
  }
  const all = [...finished, ...alive].sort((a, b) => b.logProb - a.logProb);
  const best = all[0];
  const stopped = stopId !== null && best.ids.at(-1) === stopId;
  return { ids: stopped ? best.ids.slice(0, -1) : best.ids, logProb: best.logProb, stopped };
}
