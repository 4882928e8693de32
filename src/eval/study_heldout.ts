/**
 * The multiplication study's held-out scores: greedy decoding of every problem of a split (test
 * by default), scored by exact match and the study's digit accuracy, overall and per difficulty
 * bucket. Works for any model of the registry (decoder-only or encoder–decoder): decoding is
 * batched full forwards, one per answer position, which causal decoders make equal to
 * token-by-token greedy decoding.
 *
 * @module
 */

import {
  type MultiplicationStudySource,
  predictedDigits,
  scoreStudy,
  type StudyProblem,
  type StudyScores,
  type StudySplit,
} from "../data/synthetic/tasks/multiplication_study.ts";
import type { Device } from "../gpu/device.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";

/**
 * Greedy products for `problems` of a study source, decoded in batches of `batchSize`.
 *
 * @example
 * ```ts
 * const scores = await studyHeldOut(dev, model, source, { split: "test", batchSize: 256 });
 * scores.buckets[9].exact_match; // the hardest tenth of the products
 * ```
 */
export async function studyHeldOut(
  dev: Device,
  model: LanguageModel,
  source: MultiplicationStudySource,
  opts: {
    split?: StudySplit;
    /** Problems to decode instead of the whole split (scored as that split). */
    problems?: StudyProblem[];
    batchSize?: number;
    onBatch?: (done: number) => void;
  } = {},
): Promise<StudyScores & { split: StudySplit }> {
  const split = opts.split ?? "test";
  const problems = opts.problems ?? source.splits[split];
  const batchSize = opts.batchSize ?? 256;
  const T = source.seqLen;
  const S = source.sourceLen;
  const V = model.config.vocab_size;
  const predicted: string[] = [];
  for (let start = 0; start < problems.length; start += batchSize) {
    const chunk = problems.slice(start, start + batchSize);
    const inputs = source.rows(chunk).inputs;
    // Only the source and BOS are given; every answer position is the model's own.
    for (let r = 0; r < chunk.length; r++) inputs.fill(source.padId, r * T + S + 1, (r + 1) * T);
    const generated = new Int32Array(chunk.length * T).fill(source.padId);
    for (let k = 0; S + k < T; k++) {
      const logits = tidy(() =>
        noGrad(() =>
          model.forward(Tensor.fromArray(dev, inputs, [chunk.length, T], { dtype: "i32" })).logits!
        )
      );
      const values = await logits.toArray() as Float32Array;
      logits.release();
      for (let r = 0; r < chunk.length; r++) {
        const row = (r * T + S + k) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (values[row + v] > values[row + best]) best = v;
        generated[r * T + S + k] = best;
        if (S + k + 1 < T) inputs[r * T + S + k + 1] = best;
      }
    }
    for (let r = 0; r < chunk.length; r++) {
      predicted.push(predictedDigits(generated, r * T + S, (r + 1) * T));
    }
    opts.onBatch?.(start + chunk.length);
  }
  return { split, ...scoreStudy(problems, predicted, source.params.buckets) };
}

/** Lines of a held-out report: overall, then one per bucket with its product range. */
export function formatStudyScores(
  scores: StudyScores & { split: StudySplit },
  source: MultiplicationStudySource,
): string {
  const lines = [
    `${scores.split} split, greedy decoding (${scores.count} problems): exact_match ` +
    `${scores.exact_match.toFixed(4)}  digit_accuracy ${scores.digit_accuracy.toFixed(4)}`,
  ];
  for (const b of scores.buckets) {
    const products = source.splits[scores.split].filter((p) => p.bucket === b.bucket)
      .map((p) => p.a * p.b);
    const range = products.length ? `${Math.min(...products)}–${Math.max(...products)}` : "—";
    lines.push(
      `  bucket ${b.bucket} (products ${range}, ${b.count}): exact_match ` +
        `${b.exact_match.toFixed(4)}  digit_accuracy ${b.digit_accuracy.toFixed(4)}`,
    );
  }
  return lines.join("\n");
}
