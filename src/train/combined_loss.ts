/**
 * The combined training loss of `training.loss.accuracy_weight` (w):
 * (1 − w)·cross-entropy + w·(1 − mean probability of the correct token), both over the scored
 * positions (targets ≠ −1, i.e. the answer positions of a task). The probability term rewards
 * putting mass on the right token directly, as the multiplication study's `--accuracy-weight` does.
 * Built from autograd ops (softmax, mul by a host-made one-hot, sum), so the gradient comes from
 * their backward passes; it costs an extra [N,V] softmax and one-hot per micro-batch, which is
 * small for the character vocabularies this is meant for. w = 0 is the plain model loss, untouched.
 *
 * @module
 */

import type { Batch } from "../data/batch.ts";
import type { Device } from "../gpu/device.ts";
import type { ForwardOptions } from "../nn/gpt.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { ops } from "../tensor/ops.ts";
import { readScalars } from "../tensor/read_scalars.ts";
import { noGrad, Tensor } from "../tensor/tensor.ts";

/** The loss and its two parts, all scalar tensors on the GPU. */
export interface CombinedLossParts {
  loss: Tensor;
  ce: Tensor;
  acc: Tensor;
}

/**
 * (1 − w)·CE + w·(1 − Σ p_target / count) of logits [N,V] against targets [N] (−1 ignored).
 * `hostTargets` are the same targets on the host (they build the one-hot). No scored row → both
 * parts 0, as `crossEntropy` has it.
 */
export function combinedLoss(
  logits: Tensor,
  targets: Tensor,
  hostTargets: Int32Array,
  w: number,
): CombinedLossParts {
  const dev = logits.device;
  const [rows, vocab] = logits.shape;
  const ce = ops.crossEntropy(logits, targets);
  let count = 0;
  for (const t of hostTargets) if (t !== -1) count++;
  const onehot = new Float32Array(rows * vocab);
  for (let i = 0; i < rows; i++) {
    const t = hostTargets[i];
    // A target out of range already makes the cross-entropy NaN; it adds nothing here.
    if (t >= 0 && t < vocab) onehot[i * vocab + t] = 1 / count;
  }
  const mask = Tensor.fromArray(dev, onehot, [rows, vocab]);
  const one = Tensor.fromArray(dev, [count > 0 ? 1 : 0], []);
  const meanP = ops.sum(ops.mul(ops.softmax(logits), mask));
  const acc = ops.add(one, ops.scale(meanP, -1));
  const loss = ops.add(ops.scale(ce, 1 - w), ops.scale(acc, w));
  return { loss, ce, acc };
}

/**
 * The trainer's loss: the model's own when w = 0 (bit for bit the plain run), else the combined
 * loss, whose two parts it sums over a logging window for `loss_ce` and `loss_acc`.
 */
export class TrainingObjective {
  private readonly ceSum: Tensor | null;
  private readonly accSum: Tensor | null;

  constructor(dev: Device, private readonly weight: number) {
    this.ceSum = weight > 0 ? Tensor.zeros(dev, []) : null;
    this.accSum = weight > 0 ? Tensor.zeros(dev, []) : null;
  }

  /** One micro-batch's scalar loss (with its tape). */
  loss(model: LanguageModel, x: Tensor, y: Tensor, batch: Batch, opts: ForwardOptions): Tensor {
    if (!this.ceSum) return model.forward(x, { ...opts, targets: y }).loss!;
    const { logits } = model.forward(x, opts);
    const v = logits!.lastDim;
    const n = logits!.size / v;
    const parts = combinedLoss(logits!.reshape([n, v]), y.reshape([n]), batch.targets, this.weight);
    noGrad(() => {
      ops.accumulate(this.ceSum!, parts.ce);
      ops.accumulate(this.accSum!, parts.acc);
    });
    return parts.loss;
  }

  /** The window's mean parts (and resets them); empty when w = 0. */
  async readWindow(dev: Device, micro: number): Promise<Record<string, number>> {
    if (!this.ceSum) return {};
    const [ce, acc] = await readScalars(dev, [this.ceSum, this.accSum]);
    this.ceSum.write([0]);
    this.accSum!.write([0]);
    return { loss_ce: ce! / micro, loss_acc: acc! / micro };
  }

  /** Frees the accumulators. */
  release(): void {
    this.ceSum?.release();
    this.accSum?.release();
  }
}
