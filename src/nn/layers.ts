/**
 * The small building blocks of a transformer: Linear, Embedding, LayerNorm. Each declares its
 * parameters with a {@link ParamBuilder} (GPT-2/Hugging Face names) and runs engine ops forward;
 * the engine's tape provides every backward.
 *
 * @module
 */

import { ops } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { INIT_STD } from "./init.ts";
import type { Param, ParamBuilder } from "./params.ts";

/**
 * `y = x W^T + b` with W stored `[out, in]` as in PyTorch's nn.Linear. W starts N(0, std²); the
 * bias starts at zero (GPT-2) or, with `uniformBias`, U(±1/√in) as PyTorch's nn.Linear draws it.
 */
export class Linear {
  readonly weight: Param;
  readonly bias: Param | null;

  constructor(
    pb: ParamBuilder,
    name: string,
    inFeatures: number,
    outFeatures: number,
    opts: { bias: boolean; std?: number; uniformBias?: boolean },
  ) {
    this.weight = pb.normal(`${name}.weight`, [outFeatures, inFeatures], opts.std ?? INIT_STD);
    const biasName = `${name}.bias`;
    this.bias = !opts.bias
      ? null
      : opts.uniformBias
      ? pb.uniform(biasName, [outFeatures], 1 / Math.sqrt(inFeatures))
      : pb.constant(biasName, [outFeatures], 0);
  }

  /** Applies the layer to the last dimension of `x`. */
  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight.tensor, this.bias?.tensor);
  }

  /**
   * The layer as `parts` stacked layers of outFeatures/parts outputs each (e.g. q, k, v of a fused
   * QKV projection), returning one output per part. Gradients flow into this layer's parameters.
   */
  forwardSplit(x: Tensor, parts: number): Tensor[] {
    const weights = this.weight.split(parts);
    const biases = this.bias?.split(parts);
    return weights.map((w, i) => ops.linear(x, w, biases?.[i]));
  }
}

/** A lookup table `[count, dim]`; also serves as the tied LM head's weight. */
export class Embedding {
  readonly weight: Param;

  constructor(pb: ParamBuilder, name: string, count: number, dim: number, std = INIT_STD) {
    this.weight = pb.normal(`${name}.weight`, [count, dim], std);
  }

  /** Rows of the table for integer `ids` of any shape → `[...ids.shape, dim]`. */
  forward(ids: Tensor): Tensor {
    return ops.embedding(ids, this.weight.tensor);
  }
}

/** Layer normalisation over the last dimension (gain 1 and bias 0 at init). */
export class LayerNorm {
  readonly weight: Param;
  readonly bias: Param | null;

  constructor(pb: ParamBuilder, name: string, dim: number, opts: { bias: boolean; eps: number }) {
    this.weight = pb.constant(`${name}.weight`, [dim], 1);
    this.bias = opts.bias ? pb.constant(`${name}.bias`, [dim], 0) : null;
    this.eps = opts.eps;
  }

  private readonly eps: number;

  /** Normalises `x` over its last dimension. */
  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight.tensor, this.bias?.tensor ?? null, this.eps);
  }
}
