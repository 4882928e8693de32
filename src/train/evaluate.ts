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

/**
 * Evaluates `model` on validation batches 0…batches−1 (the same ones every time, so values are
 * comparable across steps and runs).
 */
export async function evaluate(
  dev: Device,
  model: LanguageModel,
  source: BatchSource,
  opts: { batches: number; batchSize: number },
): Promise<EvalResult> {
  const sum = Tensor.zeros(dev, []);
  const totals: Record<string, number> = {};
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
