/**
 * Validation during training: mean loss over `eval_batches` fixed validation batches (accumulated
 * on the GPU, one readback), perplexity, and the source's task metrics from argmax predictions.
 *
 * @module
 */

import type { BatchSource } from "../data/batch.ts";
import type { Device } from "../gpu/device.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { ops } from "../tensor/ops.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";

/** What one validation pass measured. */
export interface EvalResult {
  loss: number;
  ppl: number;
  /** Task metrics averaged over the batches (empty when the source has none). */
  taskMetrics: Record<string, number>;
}

/** Index of the largest of each row of `logits` ([rows, vocab] row-major). */
export function argmaxRows(logits: Float32Array, vocab: number, usable = vocab): Int32Array {
  const rows = logits.length / vocab;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let v = 0; v < usable; v++) {
      const x = logits[r * vocab + v];
      if (x > bestValue) [best, bestValue] = [v, x];
    }
    out[r] = best;
  }
  return out;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  batches: number;
  batchSize: number;
  /** Polled between chunks of batches; true ends the pass with {@link EvalInterrupted}. */
  shouldStop?: () => boolean;
}

/** A validation pass ended early by `shouldStop` (Ctrl-C); exit code 130 as for SIGINT. */
export class EvalInterrupted extends UserError {
  constructor(readonly done: number, readonly total: number) {
    super(`stopped by Ctrl-C after ${done} of ${total} validation batches`, 130);
    this.name = "EvalInterrupted";
  }
}

// A chunk of batches is submitted and waited for at once: long enough that the ≥10 ms wait is
// cheap, short enough that a stop request is seen within a fraction of a second and the command
// encoder never holds thousands of batches.
const CHUNK_MS_LOW = 100;
const CHUNK_MS_HIGH = 400;

/**
 * Evaluates `model` on validation batches 0…batches−1 (the same ones every time, so values are
 * comparable across steps and runs).
 */
export async function evaluate(
  dev: Device,
  model: LanguageModel,
  source: BatchSource,
  opts: EvaluateOptions,
): Promise<EvalResult> {
  const sum = Tensor.zeros(dev, []);
  const totals: Record<string, number> = {};
  let chunk = 1;
  let inChunk = 0;
  let chunkStart = performance.now();
  for (let i = 0; i < opts.batches; i++) {
    const batch = source.valBatch(i, opts.batchSize);
    const shape = [batch.batchSize, batch.seqLen];
    tidy(() =>
      noGrad(() => {
        const inputs = Tensor.fromArray(dev, batch.inputs, shape, { dtype: "i32" });
        const targets = Tensor.fromArray(dev, batch.targets, shape, { dtype: "i32" });
        ops.accumulate(sum, model.forward(inputs, { targets }).loss!);
      })
    );
    if (source.taskMetrics) {
      const metrics = source.taskMetrics(batch, await predict(dev, model, batch.inputs, shape));
      for (const [k, v] of Object.entries(metrics)) totals[k] = (totals[k] ?? 0) + v;
    }
    if (++inChunk < chunk || i + 1 === opts.batches) continue;
    await dev.sync();
    if (opts.shouldStop?.()) {
      sum.release();
      throw new EvalInterrupted(i + 1, opts.batches);
    }
    const ms = performance.now() - chunkStart;
    if (ms < CHUNK_MS_LOW) chunk *= 2;
    else if (ms > CHUNK_MS_HIGH && chunk > 1) chunk = Math.ceil(chunk / 2);
    inChunk = 0;
    chunkStart = performance.now();
  }
  const loss = (await sum.item()) / opts.batches;
  sum.release();
  const taskMetrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(totals)) taskMetrics[k] = v / opts.batches;
  return { loss, ppl: Math.exp(loss), taskMetrics };
}

async function predict(
  dev: Device,
  model: LanguageModel,
  ids: Int32Array,
  shape: number[],
): Promise<Int32Array> {
  const logits = tidy(() =>
    noGrad(() => model.forward(Tensor.fromArray(dev, ids, shape, { dtype: "i32" })).logits!)
  );
  const values = await logits.toArray() as Float32Array;
  logits.release();
  return argmaxRows(values, model.config.vocab_size);
}
