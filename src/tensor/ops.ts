/**
 * `ops`: every differentiable tensor operation, each with a WGSL forward and backward kernel.
 *
 * @example
 * ```ts
 * const y = ops.gelu(ops.add(x, bias));
 * const loss = ops.mean(y);
 * loss.backward();
 * ```
 */

import { accumulate, add, gelu, mul, scale } from "./ops/elementwise.ts";
import { cast } from "./ops/cast.ts";
import { dropout } from "./ops/dropout.ts";
import { embedding } from "./ops/embedding.ts";
import { layerNorm } from "./ops/layernorm.ts";
import { mergeHeads, splitHeads } from "./ops/layout.ts";
import { linear, matmul } from "./ops/matmul.ts";
import { softmax } from "./ops/softmax.ts";
import { mean, sum } from "./ops/reduce.ts";
import { attention, causalMask } from "./ops/attention.ts";
import { crossEntropy } from "./ops/classifier.ts";
import { rope } from "./ops/rope.ts";
import {
  abs,
  clamp,
  eq,
  exp,
  gt,
  log,
  lt,
  maximum,
  minimum,
  pow,
  relu,
  sigmoid,
  silu,
  sqrt,
  tanh,
  where,
} from "./ops/pointwise.ts";
import { argmax, max, min } from "./ops/reduce_axis.ts";
import { concat, slice, transpose } from "./ops/slicing.ts";

/** The op namespace (see engine_api in DESIGN.md for the contract of each). */
export const ops = {
  matmul,
  linear,
  add,
  mul,
  scale,
  gelu,
  softmax,
  layerNorm,
  embedding,
  splitHeads,
  mergeHeads,
  dropout,
  sum,
  mean,
  accumulate,
  cast,
  attention,
  causalMask,
  rope,
  crossEntropy,
  relu,
  abs,
  clamp,
  maximum,
  minimum,
  where,
  eq,
  lt,
  gt,
  exp,
  log,
  sqrt,
  sigmoid,
  tanh,
  silu,
  pow,
  max,
  min,
  argmax,
  concat,
  slice,
  transpose,
};
