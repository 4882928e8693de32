/**
 * Pointwise ops (shaders/pointwise.wgsl): unary math with its backward (relu, abs, clamp, exp,
 * log, sqrt, sigmoid, tanh, silu, pow), maximum/minimum, the comparisons eq/lt/gt (f32 0/1
 * masks, no gradient) and where. Binary ops broadcast like `add`: an operand whose shape is the
 * trailing dims of the other's repeats over it (either side), and its gradient is summed back.
 * A number operand is passed to the kernel as a uniform (no tensor is made for it).
 */

import { defineKernel, grid1d, type Kernel } from "../../gpu/kernel.ts";
import { checkDType, checkInputs, isTrailingBroadcast, recordOp } from "../op.ts";
import { formatShape, numel, Tensor } from "../tensor.ts";
import { sumToShape } from "./reduce.ts";

const WORKGROUP = 256;
/** Largest finite f32: an omitted clamp bound (WGSL leaves infinities to the implementation). */
const F32_MAX = 3.4028234663852886e38;

/** Unary op codes (OP in pointwise.wgsl) and which value the backward reads. */
const UNARY = {
  relu: { code: 0, saves: "x" },
  abs: { code: 1, saves: "x" },
  clamp: { code: 2, saves: "x" },
  exp: { code: 3, saves: "y" },
  log: { code: 4, saves: "x" },
  sqrt: { code: 5, saves: "y" },
  sigmoid: { code: 6, saves: "y" },
  tanh: { code: 7, saves: "y" },
  silu: { code: 8, saves: "x" },
  pow: { code: 9, saves: "x" },
} as const;
type UnaryName = keyof typeof UNARY;

const BINARY = { maximum: 0, minimum: 1, eq: 2, lt: 3, gt: 4 } as const;
type BinaryName = keyof typeof BINARY;

const unaryUniforms = [["n", "u32"], ["p0", "f32"], ["p1", "f32"]] as const;
const binaryUniforms = [["n", "u32"], ["na", "u32"], ["nb", "u32"], ["b_value", "f32"]] as const;
const compareIntUniforms = [["n", "u32"], ["na", "u32"], ["nb", "u32"], [
  "b_value",
  "i32",
]] as const;

const kernels = new Map<string, Kernel>();
function kernel(entryPoint: string, op: number, uniforms: Kernel["spec"]["uniforms"]): Kernel {
  const key = `${entryPoint}/${op}`;
  let k = kernels.get(key);
  if (k === undefined) {
    k = defineKernel({ shader: "pointwise", entryPoint, constants: { OP: op }, uniforms });
    kernels.set(key, k);
  }
  return k;
}

const whereForwardKernel = defineKernel({
  shader: "pointwise",
  entryPoint: "where_forward",
  uniforms: [["n", "u32"], ["nm", "u32"], ["na", "u32"], ["nb", "u32"], ["a_value", "f32"], [
    "b_value",
    "f32",
  ]],
});
const whereBackwardKernel = defineKernel({
  shader: "pointwise",
  entryPoint: "where_backward",
  uniforms: [["n", "u32"], ["nm", "u32"], ["side", "u32"]],
});

function unaryOp(name: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkInputs(name, x);
  checkDType(name, x, "f32");
  const { code, saves } = UNARY[name];
  const dev = x.device;
  const y = Tensor.empty(dev, x.shape);
  const uniforms = { n: x.size, p0, p1 };
  kernel("unary_forward", code, unaryUniforms).dispatch(dev, {
    bindings: [x, y],
    uniforms,
    workgroups: grid1d(x.size, WORKGROUP),
  });
  return recordOp(name, y, [x], (g) => {
    const dx = Tensor.empty(dev, x.shape);
    kernel("unary_backward", code, unaryUniforms).dispatch(dev, {
      bindings: [saves === "x" ? x : y, g, dx],
      uniforms,
      workgroups: grid1d(x.size, WORKGROUP),
    });
    return [dx];
  });
}

/** `max(x, 0)`; the gradient at 0 is 0 (like PyTorch). */
export function relu(x: Tensor): Tensor {
  return unaryOp("relu", x);
}

/** `|x|`; the gradient is sign(x), 0 at 0. */
export function abs(x: Tensor): Tensor {
  return unaryOp("abs", x);
}

/**
 * `x` clamped to [min, max] (null or omitted: unbounded on that side). The gradient passes
 * where min ≤ x ≤ max, bounds included, like `torch.clamp`.
 *
 * @example
 * ```ts
 * const y = ops.clamp(x, -1, 1);
 * const positive = ops.clamp(x, 0); // no upper bound
 * ```
 */
export function clamp(x: Tensor, min: number | null = null, max: number | null = null): Tensor {
  const lo = min ?? -F32_MAX;
  const hi = max ?? F32_MAX;
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
    throw new Error(`clamp: need min ≤ max, got min ${min} and max ${max}`);
  }
  return unaryOp("clamp", x, Math.max(lo, -F32_MAX), Math.min(hi, F32_MAX));
}

/** `e^x`. */
export function exp(x: Tensor): Tensor {
  return unaryOp("exp", x);
}

/** Natural logarithm (NaN below 0, -∞ at 0 where the adapter has infinities). */
export function log(x: Tensor): Tensor {
  return unaryOp("log", x);
}

/** `√x`. */
export function sqrt(x: Tensor): Tensor {
  return unaryOp("sqrt", x);
}

/** `1 / (1 + e^−x)`, evaluated without overflow for any finite x. */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp("sigmoid", x);
}

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return unaryOp("tanh", x);
}

/** SiLU (swish): `x · sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return unaryOp("silu", x);
}

/**
 * `x^p` for a number `p`, with PyTorch's meaning: integer powers of negative bases keep their
 * sign, fractional powers of negative bases are NaN, `x^0 = 1` with gradient 0.
 */
export function pow(x: Tensor, p: number): Tensor {
  if (!Number.isFinite(p)) throw new Error(`pow: the exponent must be a finite number, got ${p}`);
  return unaryOp("pow", x, p);
}

/**
 * The shape every operand broadcasts to: the first operand shape of which every other shape is
 * the trailing dims (leading 1s ignored).
 */
function broadcastShape(op: string, shapes: readonly (readonly number[])[]): readonly number[] {
  const out = shapes.find((s) => shapes.every((t) => isTrailingBroadcast(s, t)));
  if (out === undefined) {
    throw new Error(
      `${op}: cannot broadcast ${shapes.map(formatShape).join(" and ")} ` +
        `(one shape must be the trailing dims of the other)`,
    );
  }
  return out;
}

function binaryOperands(op: string, a: Tensor, b: Tensor | number) {
  if (typeof b === "number") {
    checkInputs(op, a);
    return { shape: a.shape, uniforms: { n: a.size, na: a.size, nb: 0, b_value: b }, bt: a };
  }
  checkInputs(op, a, b);
  const shape = broadcastShape(op, [a.shape, b.shape]);
  const n = a.size >= b.size ? a.size : b.size;
  return {
    shape,
    uniforms: { n, na: Math.max(1, a.size), nb: Math.max(1, b.size), b_value: 0 },
    bt: b,
  };
}

function binaryForward(name: BinaryName, a: Tensor, b: Tensor | number) {
  const operands = binaryOperands(name, a, b);
  // Comparisons also take i32 (token ids); everything else computes in f32.
  const ids = a.dtype === "i32" && name !== "maximum" && name !== "minimum";
  if (!ids) checkDType(name, a, "f32");
  if (typeof b !== "number" && b.dtype !== a.dtype) {
    throw new Error(`${name}: operands are ${a.dtype} and ${b.dtype}; they must match`);
  }
  if (ids && typeof b === "number" && !Number.isInteger(b)) {
    throw new Error(`${name}: an i32 tensor compares with integers only, got ${b}`);
  }
  const out = Tensor.empty(a.device, operands.shape);
  const entryPoint = ids ? "compare_int" : "binary_forward";
  kernel(entryPoint, BINARY[name], ids ? compareIntUniforms : binaryUniforms).dispatch(a.device, {
    bindings: [a, operands.bt, out],
    uniforms: operands.uniforms,
    workgroups: grid1d(out.size, WORKGROUP),
  });
  return { out, operands };
}

/** `g` summed down to `shape` when that operand was broadcast. */
function reduceToOperand(g: Tensor, shape: readonly number[]): Tensor {
  if (g.size === numel(shape)) return g;
  const reduced = sumToShape(g, shape);
  g.release();
  return reduced;
}

const binaryGradUniforms = [...binaryUniforms, ["side", "u32"]] as const;

function extremum(name: "maximum" | "minimum", a: Tensor, b: Tensor | number): Tensor {
  const { out, operands } = binaryForward(name, a, b);
  const inputs = typeof b === "number" ? [a] : [a, b];
  return recordOp(name, out, inputs, (g) => {
    const side = (s: 0 | 1, shape: readonly number[]) => {
      const d = Tensor.empty(a.device, g.shape);
      kernel("binary_backward", BINARY[name], binaryGradUniforms).dispatch(a.device, {
        bindings: [a, operands.bt, g, d],
        uniforms: { ...operands.uniforms, side: s },
        workgroups: grid1d(g.size, WORKGROUP),
      });
      return reduceToOperand(d, shape);
    };
    const da = a.requiresGrad ? side(0, a.shape) : null;
    const db = typeof b !== "number" && b.requiresGrad ? side(1, b.shape) : null;
    return [da, db];
  });
}

/**
 * Elementwise maximum. A tie sends half the gradient to each side (like `torch.maximum`).
 *
 * @example
 * ```ts
 * const leaky = ops.maximum(x, ops.scale(x, 0.01));
 * ```
 */
export function maximum(a: Tensor, b: Tensor | number): Tensor {
  return extremum("maximum", a, b);
}

/** Elementwise minimum; a tie splits the gradient equally (like `torch.minimum`). */
export function minimum(a: Tensor, b: Tensor | number): Tensor {
  return extremum("minimum", a, b);
}

function comparison(name: "eq" | "lt" | "gt", a: Tensor, b: Tensor | number): Tensor {
  return binaryForward(name, a, b).out; // a mask has no gradient
}

/**
 * `1` where `a == b`, else `0` (f32; no gradient). Comparisons also take i32 tensors (token ids)
 * against i32 tensors or integers.
 *
 * @example
 * ```ts
 * const isTen = ops.eq(ids, 10); // ids: i32 [B,T] → f32 [B,T] mask
 * ```
 */
export function eq(a: Tensor, b: Tensor | number): Tensor {
  return comparison("eq", a, b);
}

/** `1` where `a < b`, else `0` (f32; no gradient). */
export function lt(a: Tensor, b: Tensor | number): Tensor {
  return comparison("lt", a, b);
}

/** `1` where `a > b`, else `0` (f32; no gradient). */
export function gt(a: Tensor, b: Tensor | number): Tensor {
  return comparison("gt", a, b);
}

/**
 * `a` where `mask` is non-zero, else `b`; each of the three may broadcast (trailing dims) and
 * `a` or `b` may be a number. Gradients flow to the side the mask picked; none to the mask.
 *
 * @example
 * ```ts
 * const y = ops.where(ops.gt(x, 0), x, 0); // relu
 * ```
 */
export function where(mask: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const tensors = [mask, a, b].filter((t): t is Tensor => typeof t !== "number");
  checkInputs("where", ...tensors);
  for (const t of tensors) checkDType("where", t, "f32", t === mask ? "mask" : "input");
  const shape = broadcastShape("where", tensors.map((t) => t.shape));
  const dev = mask.device;
  const out = Tensor.empty(dev, shape);
  const count = (t: Tensor | number) => typeof t === "number" ? 0 : Math.max(1, t.size);
  const value = (t: Tensor | number) => typeof t === "number" ? t : 0;
  whereForwardKernel.dispatch(dev, {
    // A number side binds the mask in its place; the kernel reads the uniform instead.
    bindings: [mask, typeof a === "number" ? mask : a, typeof b === "number" ? mask : b, out],
    uniforms: {
      n: out.size,
      nm: Math.max(1, mask.size),
      na: count(a),
      nb: count(b),
      a_value: value(a),
      b_value: value(b),
    },
    workgroups: grid1d(out.size, WORKGROUP),
  });
  const inputs = [mask, ...[a, b].filter((t): t is Tensor => typeof t !== "number")];
  return recordOp("where", out, inputs, (g) => {
    const side = (t: Tensor | number, s: 0 | 1) => {
      if (typeof t === "number" || !t.requiresGrad) return null;
      const d = Tensor.empty(dev, g.shape);
      whereBackwardKernel.dispatch(dev, {
        bindings: [mask, g, d],
        uniforms: { n: g.size, nm: Math.max(1, mask.size), side: s },
        workgroups: grid1d(g.size, WORKGROUP),
      });
      return reduceToOperand(d, t.shape);
    };
    const grads: (Tensor | null)[] = [null];
    if (typeof a !== "number") grads.push(side(a, 0));
    if (typeof b !== "number") grads.push(side(b, 1));
    return grads;
  });
}
