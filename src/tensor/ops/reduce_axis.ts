/**
 * Reductions along one axis (shaders/reduce_axis.wgsl): sum and mean (reached through `ops.sum`
 * and `ops.mean` with an axis), max, min and argmax. Any axis, any length; the result is
 * deterministic run to run.
 */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkDType, checkInputs, recordOp } from "../op.ts";
import { formatShape, Tensor } from "../tensor.ts";

const WORKGROUP = 256;
const uniforms = [["outer", "u32"], ["len", "u32"], ["inner", "u32"], ["scale", "f32"]] as const;
/**
 * Axes up to this long reduce with one thread per output (a loop); longer ones with a workgroup
 * per output, whose threads stride over the axis.
 */
const SHORT_AXIS = 32;
const sumKernel = defineKernel({ shader: "reduce_axis", entryPoint: "sum_axis", uniforms });
const sumShortKernel = defineKernel({
  shader: "reduce_axis",
  entryPoint: "sum_axis_short",
  uniforms,
});
const broadcastKernel = defineKernel({
  shader: "reduce_axis",
  entryPoint: "broadcast_axis",
  uniforms,
});
const scatterKernel = defineKernel({ shader: "reduce_axis", entryPoint: "scatter_axis", uniforms });
const selectKernel = (entryPoint: string, op: number) =>
  defineKernel({ shader: "reduce_axis", entryPoint, constants: { OP: op }, uniforms });
const selectKernels = {
  max: { long: selectKernel("select_axis", 0), short: selectKernel("select_axis_short", 0) },
  min: { long: selectKernel("select_axis", 1), short: selectKernel("select_axis_short", 1) },
};

/** The kernel and grid for `outputs` results along an axis of `len`. */
function plan<K>(len: number, outputs: number, long: K, short: K): [K, [number, number]] {
  return len <= SHORT_AXIS ? [short, grid1d(outputs, WORKGROUP)] : [long, grid1d(outputs, 1)];
}

/** Options of the axis reductions. */
export interface ReduceOptions {
  /** Keep the reduced axis with length 1 (like PyTorch's `keepdim`). Default false. */
  keepdim?: boolean;
}

/** `x` viewed as [outer, len, inner] around `axis` (negative counts from the end). */
interface AxisView {
  outer: number;
  len: number;
  inner: number;
  /** The result's shape. */
  shape: number[];
}

function axisView(op: string, x: Tensor, axis: number | undefined, keepdim: boolean): AxisView {
  if (axis === undefined) {
    // Over every element: the flat view, all dims reduced.
    const shape = keepdim ? x.shape.map(() => 1) : [];
    return { outer: 1, len: x.size, inner: 1, shape };
  }
  const rank = x.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for shape ${formatShape(x.shape)}`);
  }
  const outer = x.shape.slice(0, a).reduce((n, d) => n * d, 1);
  const inner = x.shape.slice(a + 1).reduce((n, d) => n * d, 1);
  const shape = [...x.shape];
  if (keepdim) shape[a] = 1;
  else shape.splice(a, 1);
  return { outer, len: x.shape[a], inner, shape };
}

function dims(v: AxisView, scale = 1) {
  return { outer: v.outer, len: v.len, inner: v.inner, scale };
}

/**
 * Sum along `axis` times `factor` (1/len for mean); gradient: the output gradient repeated
 * along the axis, times `factor`.
 */
export function sumAlongAxis(
  op: string,
  x: Tensor,
  axis: number | undefined,
  keepdim: boolean,
  mean: boolean,
): Tensor {
  checkInputs(op, x);
  checkDType(op, x, "f32");
  const v = axisView(op, x, axis, keepdim);
  const factor = mean ? 1 / Math.max(1, v.len) : 1;
  const dev = x.device;
  const out = Tensor.empty(dev, v.shape);
  const [kernel, workgroups] = plan(v.len, out.size, sumKernel, sumShortKernel);
  kernel.dispatch(dev, { bindings: [x, out], uniforms: dims(v, factor), workgroups });
  return recordOp(op, out, [x], (g) => {
    const dx = Tensor.empty(dev, x.shape);
    broadcastKernel.dispatch(dev, {
      bindings: [g, dx],
      uniforms: dims(v, factor),
      workgroups: grid1d(dx.size, WORKGROUP),
    });
    return [dx];
  });
}

/** The extreme values along the axis and their first indices (i32). */
function select(
  op: "max" | "min" | "argmax",
  x: Tensor,
  axis: number | undefined,
  keepdim: boolean,
): { values: Tensor; indices: Tensor; view: AxisView } {
  checkInputs(op, x);
  checkDType(op, x, "f32");
  const v = axisView(op, x, axis, keepdim);
  if (v.len === 0) {
    throw new Error(`${op}: cannot reduce an empty axis of ${formatShape(x.shape)}`);
  }
  const dev = x.device;
  const values = Tensor.empty(dev, v.shape);
  const indices = Tensor.empty(dev, v.shape, { dtype: "i32" });
  const kernels = selectKernels[op === "min" ? "min" : "max"];
  const [kernel, workgroups] = plan(v.len, values.size, kernels.long, kernels.short);
  kernel.dispatch(dev, { bindings: [x, values, indices], uniforms: dims(v), workgroups });
  return { values, indices, view: v };
}

function extremeAlongAxis(
  op: "max" | "min",
  x: Tensor,
  axis: number | undefined,
  opts: ReduceOptions,
): Tensor {
  const { values, indices, view } = select(op, x, axis, opts.keepdim ?? false);
  const dev = x.device;
  const out = recordOp(op, values, [x], (g) => {
    const dx = Tensor.empty(dev, x.shape);
    scatterKernel.dispatch(dev, {
      bindings: [g, indices, dx],
      uniforms: dims(view),
      workgroups: grid1d(dx.size, WORKGROUP),
    });
    indices.release();
    return [dx];
  });
  if (out.node === null) indices.release();
  return out;
}

/**
 * Maximum along `axis` (all elements when omitted). The gradient goes to the first index
 * holding the maximum, as with `torch.max(x, dim)`; over all elements too, where `torch.max(x)`
 * would share it among ties.
 *
 * @example
 * ```ts
 * const rowMax = ops.max(x, -1, { keepdim: true }); // [B,T,1]
 * ```
 */
export function max(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  return extremeAlongAxis("max", x, axis, opts);
}

/** Minimum along `axis` (all elements when omitted); gradient to the first minimal index. */
export function min(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  return extremeAlongAxis("min", x, axis, opts);
}

/**
 * Index of the maximum along `axis` as an i32 tensor (of the flattened tensor when omitted);
 * ties give the first index, like PyTorch. No gradient.
 */
export function argmax(x: Tensor, axis?: number, opts: ReduceOptions = {}): Tensor {
  const { values, indices } = select("argmax", x, axis, opts.keepdim ?? false);
  values.release();
  return indices;
}
