/**
 * f16 storage: `cast` converts between f32 (what every kernel computes in) and f16 (half the
 * memory, e.g. for frozen weights or caches) on adapters with "shader-f16" (shaders/convert.wgsl).
 */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { UserError } from "../../util/errors.ts";
import { recordOp } from "../op.ts";
import { type DType, Tensor } from "../tensor.ts";

const WORKGROUP = 256;
const toHalf = defineKernel({
  shader: "convert",
  entryPoint: "f32_to_f16",
  uniforms: [["n", "u32"]],
});
const toSingle = defineKernel({
  shader: "convert",
  entryPoint: "f16_to_f32",
  uniforms: [["n", "u32"]],
});

function convert(x: Tensor, dtype: "f16" | "f32"): Tensor {
  const out = Tensor.empty(x.device, x.shape, { dtype });
  (dtype === "f16" ? toHalf : toSingle).dispatch(x.device, {
    bindings: [x, out],
    uniforms: { n: x.size },
    workgroups: grid1d(x.size, WORKGROUP),
  });
  return out;
}

/**
 * `x` converted to `dtype` ("f32" or "f16"); returns `x` itself when it already has it. The
 * gradient is cast back to the input's dtype.
 *
 * @example
 * ```ts
 * const half = ops.cast(weights, "f16");           // storage at half the bytes
 * const y = ops.linear(x, ops.cast(half, "f32"));  // compute in f32
 * ```
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  x.check();
  if (x.dtype === dtype) return x;
  const pair = `${x.dtype}→${dtype}`;
  if (pair !== "f32→f16" && pair !== "f16→f32") {
    throw new Error(`cast: ${pair} is not supported (only f32 ↔ f16)`);
  }
  if (!x.device.hasF16) {
    throw new UserError(
      `cast to ${dtype}: this adapter has no "shader-f16" feature, so f16 tensors are unavailable`,
    );
  }
  const y = convert(x, dtype as "f16" | "f32");
  return recordOp("cast", y, [x], (g) => [convert(g, x.dtype as "f16" | "f32")]);
}
