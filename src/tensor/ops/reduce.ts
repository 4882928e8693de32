/**
 * Reductions: sum and mean to a scalar (or along an axis, see reduce_axis.ts), and summing
 * leading dims away (broadcast backward).
 */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { numel, Tensor } from "../tensor.ts";
import { type ReduceOptions, sumAlongAxis } from "./reduce_axis.ts";

const WORKGROUP = 256;
/** Rows summed per thread in the first pass; the second pass adds the partial sums. */
const ROWS_PER_CHUNK = 64;
const MAX_CHUNKS = 1024;

const sumRowsKernel = defineKernel({
  shader: "reduce",
  entryPoint: "sum_rows",
  uniforms: [["rows", "u32"], ["cols", "u32"], ["rows_per_chunk", "u32"], ["chunks", "u32"], [
    "scale",
    "f32",
  ]],
});
const broadcastScalarKernel = defineKernel({
  shader: "reduce",
  entryPoint: "broadcast_scalar",
  uniforms: [["n", "u32"], ["value_scale", "f32"]],
});

/**
 * Column sums of `x` viewed as [rows, cols], times `factor`, into a new tensor of `outShape`
 * (numel = cols). Two passes with a fixed order, so the result is deterministic.
 */
export function sumRows(x: Tensor, cols: number, outShape: readonly number[], factor = 1): Tensor {
  const out = Tensor.empty(x.device, outShape);
  sumRowsInto(out, x, cols, factor);
  return out;
}

/** `sumRows` writing into an existing tensor of `cols` elements. */
export function sumRowsInto(out: Tensor, x: Tensor, cols: number, factor = 1): void {
  const rows = cols === 0 ? 0 : x.size / cols;
  const chunks = Math.min(MAX_CHUNKS, Math.max(1, Math.ceil(rows / ROWS_PER_CHUNK)));
  const perChunk = Math.max(1, Math.ceil(rows / chunks));
  if (chunks === 1) {
    pass(x, out, rows, cols, perChunk, 1, factor);
    return;
  }
  const partial = Tensor.empty(x.device, [chunks, cols]);
  pass(x, partial, rows, cols, perChunk, chunks, 1);
  pass(partial, out, chunks, cols, chunks, 1, factor);
  partial.release();
}

function pass(
  x: Tensor,
  out: Tensor,
  rows: number,
  cols: number,
  perChunk: number,
  chunks: number,
  scale: number,
): void {
  sumRowsKernel.dispatch(x.device, {
    bindings: [x, out],
    uniforms: { rows, cols, rows_per_chunk: perChunk, chunks, scale },
    workgroups: grid1d(cols * chunks, WORKGROUP),
  });
}

/** Sums `g` over its leading dims down to the trailing-dim shape `shape` (leading 1s kept). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  return sumRows(g, numel(shape), shape);
}

/** A tensor of `shape` filled with `factor * s[0]` for a one-element tensor `s`. */
export function expandScalar(s: Tensor, shape: readonly number[], factor = 1): Tensor {
  const out = Tensor.empty(s.device, shape);
  broadcastScalarKernel.dispatch(s.device, {
    bindings: [s, out],
    uniforms: { n: out.size, value_scale: factor },
    workgroups: grid1d(out.size, WORKGROUP),
  });
  return out;
}

function reduceAll(op: string, x: Tensor, factor: number): Tensor {
  checkInputs(op, x);
  const out = sumRows(x, 1, [], factor);
  const shape = x.shape;
  return recordOp(op, out, [x], (g) => [expandScalar(g, shape, factor)]);
}

/**
 * Sum of all elements → a scalar tensor (shape []), or along `axis` (negative counts from the
 * end) with that axis dropped, or kept as 1 with `keepdim`.
 *
 * @example
 * ```ts
 * const total = ops.sum(x); // []
 * const perRow = ops.sum(x, -1, { keepdim: true }); // [B,T,1]
 * ```
 */
export function sum(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  if (axis === undefined && !opts.keepdim) return reduceAll("sum", x, 1);
  return sumAlongAxis("sum", x, axis, opts.keepdim ?? false, false);
}

/** Mean of all elements → a scalar tensor (shape []), or along `axis` (see `sum`). */
export function mean(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  if (axis === undefined && !opts.keepdim) return reduceAll("mean", x, 1 / Math.max(1, x.size));
  return sumAlongAxis("mean", x, axis, opts.keepdim ?? false, true);
}
