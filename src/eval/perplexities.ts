/**
 * `validate --perplexities <file>`: the per-token loss −log p(token | the tokens before it) of
 * every line of a text file, summarised per line (mean, max, min, count, perplexity) and
 * optionally listed per position. When the tokenizer has a start token (EOT/BOS) it is put in
 * front of each line so the first token is scored too. Lines longer than the context are scored
 * with a sliding window that advances by half the context, so every token after the first window
 * still sees at least half a context of history.
 *
 * @module
 */

import type { GPT } from "../nn/gpt.ts";
import { KVCache } from "../nn/kv_cache.ts";
import { ProgressBar } from "../util/progress.ts";
import { checkIdsInVocab, type TextCodec } from "./codec.ts";

/** The per-token losses of one line. */
export interface LinePerplexity {
  /** 1-based line number in the file. */
  line: number;
  /** Scored tokens. */
  count: number;
  mean: number;
  max: number;
  min: number;
  ppl: number;
  /** Per position (with `perPosition`): the token's text and its loss in nats. */
  tokens?: { token: string; loss: number }[];
}

/** The result over a file. */
export interface PerplexityReport {
  lines: LinePerplexity[];
  /** Token-weighted mean loss over all lines, and its perplexity. */
  mean: number;
  ppl: number;
  tokens: number;
}

/** −log softmax(logits)[target] in float64. */
export function tokenLoss(logits: Float32Array, offset: number, vocab: number, target: number) {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  return Math.log(sum) + max - logits[offset + target];
}

/** Losses of `ids[1..]` given the ids before each (sliding windows past the context). */
export async function sequenceLosses(model: GPT, ids: readonly number[]): Promise<number[]> {
  const context = model.config.max_seq_len;
  const vocab = model.config.vocab_size;
  const losses: number[] = [];
  const cache = new KVCache(model);
  try {
    // `scored` = how many targets (ids[1..]) have a loss so far.
    for (let start = 0; losses.length < ids.length - 1; start += Math.max(1, context >> 1)) {
      const window = ids.slice(start, start + context);
      cache.reset();
      const logits = cache.forward(window, { allLogits: true });
      const values = await logits.toArray() as Float32Array;
      logits.release();
      // position p of the window predicts window[p+1] = ids[start+p+1]
      for (let p = losses.length - start; p < window.length - 1; p++) {
        losses.push(tokenLoss(values, p * vocab, vocab, window[p + 1]));
      }
      if (start + context >= ids.length) break;
    }
  } finally {
    cache.release();
  }
  return losses;
}

/** Scores every non-empty line of `text`. */
export async function perplexities(
  model: GPT,
  codec: TextCodec,
  text: string,
  opts: { perPosition?: boolean; progress?: boolean } = {},
): Promise<PerplexityReport> {
  const rawLines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const bar = new ProgressBar({ total: rawLines.length, label: "lines", enabled: opts.progress });
  const lines: LinePerplexity[] = [];
  let total = 0;
  let count = 0;
  for (let i = 0; i < rawLines.length; i++) {
    bar.update(i + 1);
    if (rawLines[i].trim() === "") continue;
    const body = codec.encode(rawLines[i]);
    const ids = codec.startId === null ? body : [codec.startId, ...body];
    checkIdsInVocab(ids, model.config.vocab_size);
    if (ids.length < 2) continue;
    const losses = await sequenceLosses(model, ids);
    const sum = losses.reduce((a, b) => a + b, 0);
    const mean = sum / losses.length;
    const entry: LinePerplexity = {
      line: i + 1,
      count: losses.length,
      mean,
      max: Math.max(...losses),
      min: Math.min(...losses),
      ppl: Math.exp(mean),
    };
    if (opts.perPosition) {
      const first = ids.length - losses.length;
      entry.tokens = losses.map((loss, p) => ({ token: codec.label(ids[first + p]), loss }));
    }
    lines.push(entry);
    total += sum;
    count += losses.length;
  }
  bar.done();
  const mean = count > 0 ? total / count : NaN;
  return { lines, mean, ppl: Math.exp(mean), tokens: count };
}

/** A table of the report for people. */
export function formatPerplexities(r: PerplexityReport): string {
  const out = ["line    count     mean      max      min       ppl"];
  for (const l of r.lines) {
    out.push(
      `${String(l.line).padStart(4)} ${String(l.count).padStart(8)} ${
        l.mean.toFixed(4).padStart(8)
      }` +
        ` ${l.max.toFixed(4).padStart(8)} ${l.min.toFixed(4).padStart(8)} ${
          l.ppl.toFixed(3).padStart(9)
        }`,
    );
    for (const t of l.tokens ?? []) {
      out.push(`       ${JSON.stringify(t.token)} ${t.loss.toFixed(4)}`);
    }
  }
  out.push(`all: ${r.tokens} tokens, mean loss ${r.mean.toFixed(4)}, ppl ${r.ppl.toFixed(3)}`);
  return out.join("\n");
}
