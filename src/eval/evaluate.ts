/**
 * `validate --eval`: the loss, perplexity and task metrics of a trained model on its run's
 * validation batches — the same batches, in the same order, through the same GPU reduction as the
 * trainer's validation, so a checkpoint's logged val loss is reproduced exactly — plus the
 * progress towards the optimal loss for generative processes.
 *
 * @module
 */

import { evaluate } from "../train/evaluate.ts";
import { UserError } from "../util/errors.ts";
import type { LoadedModel } from "./load.ts";

/** What `evaluateModel` measured. */
export interface ModelEvaluation {
  loss: number;
  ppl: number;
  batches: number;
  batch_size: number;
  /** Checkpoint step (null for Hugging Face weights). */
  step: number | null;
  /** Task metrics (exact_match, token_accuracy, …) averaged over the batches. */
  metrics: Record<string, number>;
  /** L* of a generative process at this context, when the data has one. */
  optimal_loss?: number;
  /** (loss − L*) / (first val loss − L*): 1 at the start of training, 0 at the optimum. */
  progress_to_optimal?: number;
}

/**
 * Evaluates on validation batches 0…n−1 (n = `maxBatches`, default the run's `eval_batches`) at
 * the run's batch size.
 */
export async function evaluateModel(
  loaded: LoadedModel,
  opts: { maxBatches?: number; shouldStop?: () => boolean } = {},
): Promise<ModelEvaluation> {
  if (!loaded.runConfig) {
    throw new UserError(
      `--eval needs the run's data: ${loaded.checkpointDir} is not inside a run directory ` +
        `with a config.yaml`,
    );
  }
  const source = await loaded.source();
  const training = loaded.runConfig.training;
  const batches = opts.maxBatches ?? training.eval_batches;
  if (!(Number.isInteger(batches) && batches >= 1)) {
    throw new UserError(`--max-batches: expected an integer ≥ 1, found ${batches}`);
  }
  const batchSize = training.batch_size;
  const { loss, taskMetrics } = await evaluate(loaded.device, loaded.model, source, {
    batches,
    batchSize,
    shouldStop: opts.shouldStop,
  });
  const result: ModelEvaluation = {
    loss,
    ppl: Math.exp(loss),
    batches,
    batch_size: batchSize,
    step: loaded.checkpoint?.state.step ?? null,
    metrics: taskMetrics,
  };
  const optimal = source.metadata?.optimal_loss;
  if (typeof optimal === "number") {
    result.optimal_loss = optimal;
    const initial = loaded.checkpoint?.state.initial_val_loss;
    if (typeof initial === "number" && initial !== optimal) {
      result.progress_to_optimal = (loss - optimal) / (initial - optimal);
    }
  }
  return result;
}

/** Human-readable lines of an evaluation. */
export function formatEvaluation(e: ModelEvaluation): string {
  const lines = [
    `val loss ${e.loss.toFixed(4)}  ppl ${e.ppl.toFixed(3)}  (${e.batches} batches of ` +
    `${e.batch_size}${e.step === null ? "" : `, step ${e.step}`})`,
  ];
  for (const [k, v] of Object.entries(e.metrics)) lines.push(`${k} ${v.toFixed(4)}`);
  if (e.optimal_loss !== undefined) lines.push(`optimal loss ${e.optimal_loss.toFixed(5)}`);
  if (e.progress_to_optimal !== undefined) {
    lines.push(`progress to optimal ${e.progress_to_optimal.toFixed(4)} (1 = start, 0 = optimal)`);
  }
  return lines.join("\n");
}
