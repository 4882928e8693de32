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
import { linear, matmul } from "./ops/matmul.ts";
import { mean, sum } from "./ops/reduce.ts";
import { attention, causalMask } from "./ops/attention.ts";
import { crossEntropy } from "./ops/classifier.ts";
import { rope } from "./ops/rope.ts";

/** The op namespace (see engine_api in DESIGN.md for the contract of each). */
export const ops = {
  matmul,
  linear,
  add,
  mul,
  scale,
  gelu,
  sum,
  mean,
  accumulate,
  attention,
  causalMask,
  rope,
  crossEntropy,
};
