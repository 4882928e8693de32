/** Dropout with a counter-based hash RNG (shaders/dropout.wgsl). */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { Tensor } from "../tensor.ts";

const WORKGROUP = 256;
const dropoutKernel = defineKernel({
  shader: "dropout",
  entryPoint: "dropout",
  uniforms: [["n", "u32"], ["seed", "u32"], ["threshold", "u32"], ["scale", "f32"]],
});

function masked(x: Tensor, p: number, seed: number): Tensor {
  const y = Tensor.empty(x.device, x.shape);
  dropoutKernel.dispatch(x.device, {
    bindings: [x, y],
    uniforms: {
      n: x.size,
      seed: seed >>> 0,
      threshold: Math.min(0xffffffff, Math.round(p * 2 ** 32)),
      scale: 1 / (1 - p),
    },
    workgroups: grid1d(x.size, WORKGROUP),
  });
  return y;
}

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1−p). The mask is a pure
 * function of (`seed`, element index), so a step replays exactly; use a new seed per step and
 * layer. With p = 0 it returns `x` itself.
 */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  checkInputs("dropout", x);
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const y = masked(x, p, seed);
  return recordOp("dropout", y, [x], (g) => [masked(g, p, seed)]);
}
