/**
 * The op-definition helper every op file uses. An op is a TypeScript function that
 *
 * 1. checks its inputs (`checkInputs`) and allocates outputs (`Tensor.empty`),
 * 2. records forward kernels with `Kernel.dispatch` (storage bindings are tensors, uniforms are
 *    named scalars packed into the device's uniform arena),
 * 3. registers a backward closure with `recordOp`, which records the backward kernels when
 *    `loss.backward()` replays the tape.
 *
 * @example A complete op (this is how `ops.scale` is written):
 * ```ts
 * import { defineKernel, grid1d } from "../gpu/kernel.ts";
 * import { Tensor } from "./tensor.ts";
 * import { checkInputs, recordOp } from "./op.ts";
 *
 * // shaders/elementwise.wgsl:
 * //   struct ScaleParams { n: u32, s: f32 }
 * //   @group(0) @binding(0) var<uniform> p: ScaleParams;      // uniforms are binding 0
 * //   @group(0) @binding(1) var<storage, read> x: array<f32>;  // then bindings in order
 * //   @group(0) @binding(2) var<storage, read_write> y: array<f32>;
 * //   @compute @workgroup_size(256) fn scale(...) { ... }
 * const scaleKernel = defineKernel({
 *   shader: "elementwise",             // file shaders/elementwise.wgsl
 *   entryPoint: "scale",
 *   uniforms: [["n", "u32"], ["s", "f32"]], // struct fields in declaration order
 * });
 *
 * export function scale(x: Tensor, s: number): Tensor {
 *   checkInputs("scale", x);
 *   const y = Tensor.empty(x.device, x.shape);
 *   scaleKernel.dispatch(x.device, {
 *     bindings: [x, y],
 *     uniforms: { n: x.size, s },
 *     workgroups: grid1d(x.size, 256),
 *   });
 *   // Only recorded when the tape is on and some input requires grad. The closure runs under
 *   // noGrad; it may call other ops and returns one gradient (or null) per input.
 *   return recordOp("scale", y, [x], (g) => [scale(g, s)]);
 * }
 * ```
 *
 * Rules for backward closures: they must not keep the forward output alive unless they use it;
 * tensors they allocate privately (e.g. saved statistics) are theirs to release once used; they
 * may return `gradOut` itself. Forward tensors captured by a closure stay valid until backward:
 * `backward()` releases the graph's intermediates only after the whole replay.
 */

import { noteGradInputs } from "./scope.ts";
import { formatShape, type GradNode, isGradEnabled, type Tensor } from "./tensor.ts";

/**
 * Attaches a backward closure to `out` when the tape is recording and any input requires grad;
 * returns `out`.
 */
export function recordOp(
  op: string,
  out: Tensor,
  inputs: readonly Tensor[],
  backward: GradNode["backward"],
): Tensor {
  out.madeBy ??= op;
  noteGradInputs(inputs);
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Checks that inputs are live, on one device, and not f16 (storage only, see `ops.cast`). */
export function checkInputs(op: string, ...tensors: Tensor[]): void {
  const dev = tensors[0]?.device;
  for (const [i, t] of tensors.entries()) {
    t.check(`${op} (input ${i})`);
    if (t.device !== dev) throw new Error(`${op}: tensors live on different devices`);
    if (t.dtype === "f16") {
      throw new Error(`${op}: f16 tensors are storage only; convert with ops.cast(x, "f32") first`);
    }
  }
}

/** Throws unless `t.dtype` is `dtype`. */
export function checkDType(op: string, t: Tensor, dtype: Tensor["dtype"], what = "input"): void {
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
}

/** Throws a shape-mismatch error naming both shapes unless they are equal. */
export function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes differ: ${formatShape(a.shape)} vs ${formatShape(b.shape)}`);
  }
}

/**
 * For broadcasting of trailing dims: true when `b`'s shape (leading 1s ignored) is a suffix of
 * `a`'s shape, so `b[i % b.size]` pairs with `a[i]`.
 */
export function isTrailingBroadcast(a: readonly number[], b: readonly number[]): boolean {
  const bs = [...b];
  while (bs.length > 0 && bs[0] === 1) bs.shift();
  if (bs.length > a.length) return false;
  const off = a.length - bs.length;
  return bs.every((d, i) => d === a[off + i]);
}
