/**
 * Concat, slice and transpose (shaders/layout.wgsl): copies that move blocks along one axis, and
 * the swap of the last two axes. Each is the other's backward: a slice's gradient is copied into
 * a zero tensor, a concat's is sliced back out.
 */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkDType, checkInputs, recordOp } from "../op.ts";
import { formatShape, Tensor } from "../tensor.ts";
import { swapMiddle } from "./layout.ts";

const WORKGROUP = 256;
const copyBlockKernel = defineKernel({
  shader: "layout",
  entryPoint: "copy_block",
  uniforms: [
    ["outer", "u32"],
    ["len", "u32"],
    ["inner", "u32"],
    ["src_len", "u32"],
    ["src_start", "u32"],
    ["dst_len", "u32"],
    ["dst_start", "u32"],
  ],
});

function normalizeAxis(op: string, shape: readonly number[], axis: number): number {
  const a = axis < 0 ? axis + shape.length : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= shape.length) {
    throw new Error(`${op}: axis ${axis} is out of range for shape ${formatShape(shape)}`);
  }
  return a;
}

const product = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** Copies `len` positions of `src`'s axis from `srcStart` into `dst`'s axis at `dstStart`. */
function copyBlock(
  src: Tensor,
  dst: Tensor,
  axis: number,
  len: number,
  srcStart: number,
  dstStart: number,
): void {
  const outer = product(src.shape.slice(0, axis));
  const inner = product(src.shape.slice(axis + 1));
  copyBlockKernel.dispatch(src.device, {
    bindings: [src, dst],
    uniforms: {
      outer,
      len,
      inner,
      src_len: src.shape[axis],
      src_start: srcStart,
      dst_len: dst.shape[axis],
      dst_start: dstStart,
    },
    workgroups: grid1d(outer * len * inner, WORKGROUP),
  });
}

/**
 * Joins tensors along `axis` (default 0); all other dims must agree.
 *
 * @example
 * ```ts
 * const both = ops.concat([a, b], -1); // [B,T,C1] ++ [B,T,C2] → [B,T,C1+C2]
 * ```
 */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error("concat: needs at least one tensor");
  checkInputs("concat", ...tensors);
  for (const t of tensors) checkDType("concat", t, "f32");
  const first = tensors[0].shape;
  const a = normalizeAxis("concat", first, axis);
  for (const t of tensors) {
    const same = t.shape.length === first.length &&
      t.shape.every((d, i) => i === a || d === first[i]);
    if (!same) {
      throw new Error(
        `concat: shapes ${tensors.map((u) => formatShape(u.shape)).join(", ")} differ ` +
          `outside axis ${axis}`,
      );
    }
  }
  const starts: number[] = [];
  let total = 0;
  for (const t of tensors) {
    starts.push(total);
    total += t.shape[a];
  }
  const shape = [...first];
  shape[a] = total;
  const out = Tensor.empty(tensors[0].device, shape);
  tensors.forEach((t, i) => copyBlock(t, out, a, t.shape[a], 0, starts[i]));
  return recordOp("concat", out, tensors, (g) =>
    tensors.map((t, i) => {
      if (!t.requiresGrad) return null;
      const d = Tensor.empty(t.device, t.shape);
      copyBlock(g, d, a, t.shape[a], starts[i], 0);
      return d;
    }));
}

/**
 * Positions [start, end) of `axis` (Python slice rules: negative indices count from the end,
 * out-of-range bounds are clipped; `end` defaults to the axis length).
 *
 * @example
 * ```ts
 * const lastToken = ops.slice(h, 1, -1); // [B,T,C] → [B,1,C]
 * ```
 */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  checkInputs("slice", x);
  checkDType("slice", x, "f32");
  const a = normalizeAxis("slice", x.shape, axis);
  const len = x.shape[a];
  const clip = (i: number) => Math.min(len, Math.max(0, i < 0 ? i + len : i));
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new Error(`slice: start and end must be integers, got ${start} and ${end}`);
  }
  const s = clip(start);
  const e = Math.max(s, clip(end ?? len));
  const shape = [...x.shape];
  shape[a] = e - s;
  const out = Tensor.empty(x.device, shape);
  copyBlock(x, out, a, e - s, s, 0);
  return recordOp("slice", out, [x], (g) => {
    const dx = Tensor.zeros(x.device, x.shape);
    copyBlock(g, dx, a, e - s, 0, s);
    return [dx];
  });
}

/** Swaps the last two axes: [..., M, N] → [..., N, M] (a copy). */
export function transpose(x: Tensor): Tensor {
  checkInputs("transpose", x);
  checkDType("transpose", x, "f32");
  if (x.shape.length < 2) {
    throw new Error(`transpose: needs at least 2 dims, got ${formatShape(x.shape)}`);
  }
  const lead = x.shape.slice(0, -2);
  const [m, n] = x.shape.slice(-2);
  const swap = (t: Tensor, rows: number, cols: number) => {
    const swapped = swapMiddle(t, product(lead), rows, cols, 1);
    const view = swapped.reshape([...lead, cols, rows]);
    swapped.release(); // the view keeps the memory
    return view;
  };
  const y = swap(x, m, n);
  return recordOp("transpose", y, [x], (g) => [swap(g, n, m)]);
}
