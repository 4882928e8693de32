/**
 * Scheduled sampling (Bengio et al. 2015), `training.teacher_forcing`: the share of decoder
 * inputs that are ground truth (the teacher-forcing ratio) falls from 1 to `final_ratio`; the
 * other inputs are the model's own previous predictions.
 *
 * A parallel decoder has no "previous prediction" until it has run, so each micro-batch is done
 * in two passes (as in Mihaylova & Martins 2019, "Scheduled Sampling for Transformers"): one
 * forward without grad or dropout on the ground-truth inputs gives every position's greedy
 * prediction (argmax: no random draw, the token greedy decoding would emit there); then each
 * teacher-forced input is replaced, with probability 1 − ratio, by the prediction made at the
 * position before it, and the usual forward/backward runs on the mixed inputs. Targets never
 * change.
 *
 * A teacher-forced input is one that equals the previous position's target, where that target
 * is scored (≠ −1): the answer tokens after BOS in prompt/answer rows (encoder–decoder and GPT
 * alike), every token after the first in plain next-token rows. The source, BOS and padding are
 * never replaced. The draws come from a stream keyed by (seed, step, micro-batch index), and the
 * ratio is a function of the step alone, so a resumed run makes exactly the choices of an
 * uninterrupted one. At ratio 1 the extra pass is skipped: training is the plain run's, bit for
 * bit. Validation stays teacher-forced.
 *
 * @module
 */

import type { TeacherForcingConfig } from "../config/schema.ts";
import { type Batch, IGNORE_INDEX } from "../data/batch.ts";
import type { Device } from "../gpu/device.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { ops } from "../tensor/ops.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { hashInts, Mulberry32 } from "../util/random.ts";

/**
 * The teacher-forcing ratio of optimizer step `step` (0-based, the step being recorded, as the
 * learning-rate schedule counts). With s = start_step, e = end_step, f = final_ratio:
 * `constant` is f at every step; `step` is 1 before s and f from s on; `linear` and `cosine` are
 * 1 up to s, f from e on, and in between 1 − (1 − f)·p resp. f + (1 − f)·(1 + cos πp)/2 with
 * p = (step − s)/(e − s) (e = s makes them `step`).
 *
 * @example
 * ```ts
 * teacherForcingRatio({ schedule: "linear", start_step: 10, end_step: 20, final_ratio: 0.2 }, 15);
 * // 0.6
 * ```
 */
export function teacherForcingRatio(cfg: TeacherForcingConfig, step: number): number {
  const f = cfg.final_ratio;
  if (cfg.schedule === "constant") return f;
  const start = cfg.start_step;
  const end = cfg.schedule === "step" ? start : cfg.end_step ?? start;
  const p = end > start
    ? Math.min(1, Math.max(0, (step - start) / (end - start)))
    : (step >= start ? 1 : 0);
  if (cfg.schedule === "cosine") return f + (1 - f) * (1 + Math.cos(Math.PI * p)) / 2;
  return 1 - (1 - f) * p;
}

/**
 * Flat indices (row-major `[batchSize, seqLen]`) of the batch's teacher-forced inputs: the
 * positions after a row's first whose input is the previous position's scored target.
 */
export function teacherForcedPositions(batch: Batch): Int32Array {
  const out: number[] = [];
  const { inputs, targets, seqLen } = batch;
  for (let i = 0; i < inputs.length; i++) {
    if (i % seqLen === 0) continue;
    const previous = targets[i - 1];
    if (previous !== IGNORE_INDEX && inputs[i] === previous) out.push(i);
  }
  return Int32Array.from(out);
}

/**
 * The stream that picks micro-batch `batchIndex`'s replaced inputs at `step`: fixed by
 * (seed, step, batchIndex), so a resume replays it.
 */
export function samplingStream(seed: number, step: number, batchIndex: number): Mulberry32 {
  return new Mulberry32(hashInts([seed, SAMPLING_SALT, step, batchIndex]));
}

// Keeps this stream apart from the hooks' streams, which hash (seed, kind, index).
const SAMPLING_SALT = 0x5c4ed;

/**
 * The batch's inputs with each teacher-forced input (see {@link teacherForcedPositions})
 * replaced by `predictions[i − 1]` (the next-token prediction made one position earlier) with
 * probability 1 − ratio: one draw u of `stream` per teacher-forced input, in row-major order,
 * replaced when u ≥ ratio. A new array; the batch is not changed.
 */
export function mixInputs(
  batch: Batch,
  predictions: Int32Array,
  ratio: number,
  stream: Mulberry32,
): Int32Array {
  const mixed = batch.inputs.slice();
  for (const i of teacherForcedPositions(batch)) {
    if (stream.next() >= ratio) mixed[i] = predictions[i - 1];
  }
  return mixed;
}

/**
 * The model's greedy next-token prediction at every position of the batch (argmax of the
 * logits, first index on ties), from a forward without grad or dropout; only the ids are read.
 */
export async function predictNextTokens(
  dev: Device,
  model: LanguageModel,
  batch: Batch,
): Promise<Int32Array> {
  const shape = [batch.batchSize, batch.seqLen];
  const ids = tidy(() =>
    noGrad(() => {
      const x = Tensor.fromArray(dev, batch.inputs, shape, { dtype: "i32" });
      return ops.argmax(model.forward(x).logits!, -1);
    })
  );
  const out = await ids.toArray() as Int32Array;
  ids.release();
  return out;
}

/**
 * The trainer's scheduled sampling: off (every input ground truth) when the config has no
 * `training.teacher_forcing`.
 */
export class TeacherForcing {
  constructor(
    private readonly cfg: TeacherForcingConfig | undefined,
    private readonly seed: number,
  ) {}

  /** The ratio of optimizer step `step` (1 when off). */
  ratio(step: number): number {
    return this.cfg ? teacherForcingRatio(this.cfg, step) : 1;
  }

  /**
   * Micro-batch `batchIndex` of step `step` as the model should see it: unchanged at ratio 1,
   * else with inputs mixed from the model's predictions (one extra forward and readback).
   */
  async apply(
    dev: Device,
    model: LanguageModel,
    batch: Batch,
    step: number,
    batchIndex: number,
  ): Promise<Batch> {
    const ratio = this.ratio(step);
    if (ratio >= 1) return batch;
    const predictions = await predictNextTokens(dev, model, batch);
    const stream = samplingStream(this.seed, step, batchIndex);
    return { ...batch, inputs: mixInputs(batch, predictions, ratio, stream) };
  }

  /** `tf_ratio` of the step just logged (1-based `step`, as the train line numbers it). */
  metrics(step: number): { tf_ratio?: number } {
    return this.cfg ? { tf_ratio: this.ratio(step - 1) } : {};
  }
}
