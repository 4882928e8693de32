/**
 * Float64 CPU oracle for the pointwise ops, the axis reductions and the block copies (concat,
 * slice, transpose), with their gradients. Broadcast operands repeat every `length` elements
 * (trailing-dim broadcast), as in the kernels.
 *
 * @module
 */

/** The unary ops of `ops` that take at most two number parameters. */
export type UnaryOpName =
  | "relu"
  | "abs"
  | "clamp"
  | "exp"
  | "log"
  | "sqrt"
  | "sigmoid"
  | "tanh"
  | "silu"
  | "pow";

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** `op(x)` elementwise; `p0`/`p1` are clamp's bounds or pow's exponent. */
export function unaryReference(
  op: UnaryOpName,
  x: ArrayLike<number>,
  p0 = 0,
  p1 = 0,
): Float64Array {
  const f: Record<UnaryOpName, (v: number) => number> = {
    relu: (v) => Math.max(v, 0),
    abs: Math.abs,
    clamp: (v) => Math.min(Math.max(v, p0), p1),
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    sigmoid,
    tanh: Math.tanh,
    silu: (v) => v * sigmoid(v),
    pow: (v) => (p0 === 0 ? 1 : v ** p0),
  };
  return Float64Array.from(x, f[op]);
}

/** d(sum(g · op(x)))/dx with PyTorch's conventions at kinks (relu′(0) = 0, clamp inclusive). */
export function unaryGradReference(
  op: UnaryOpName,
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  p0 = 0,
  p1 = 0,
): Float64Array {
  const d: Record<UnaryOpName, (v: number) => number> = {
    relu: (v) => (v > 0 ? 1 : 0),
    abs: Math.sign,
    clamp: (v) => (v >= p0 && v <= p1 ? 1 : 0),
    exp: Math.exp,
    log: (v) => 1 / v,
    sqrt: (v) => 0.5 / Math.sqrt(v),
    sigmoid: (v) => sigmoid(v) * (1 - sigmoid(v)),
    tanh: (v) => 1 - Math.tanh(v) ** 2,
    silu: (v) => sigmoid(v) * (1 + v * (1 - sigmoid(v))),
    pow: (v) => (p0 === 0 ? 0 : p0 * v ** (p0 - 1)),
  };
  return Float64Array.from(x, (v, i) => g[i] * d[op](v));
}

/** Binary ops with broadcast on either side. */
export type BinaryOpName = "maximum" | "minimum" | "eq" | "lt" | "gt";

/** `a op b` over `n` outputs, `a[i % a.length]` against `b[i % b.length]`. */
export function binaryReference(
  op: BinaryOpName,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n: number,
): Float64Array {
  const f: Record<BinaryOpName, (u: number, v: number) => number> = {
    maximum: Math.max,
    minimum: Math.min,
    eq: (u, v) => Number(u === v),
    lt: (u, v) => Number(u < v),
    gt: (u, v) => Number(u > v),
  };
  return Float64Array.from({ length: n }, (_, i) => f[op](a[i % a.length], b[i % b.length]));
}

/**
 * Gradients of maximum/minimum given `g` over the `n = g.length` outputs: the winner takes g, a
 * tie gives half to each (torch.maximum); each summed back to its operand's length.
 */
export function extremumGradReference(
  op: "maximum" | "minimum",
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  g: ArrayLike<number>,
): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  for (let i = 0; i < g.length; i++) {
    const u = a[i % a.length];
    const v = b[i % b.length];
    const aWins = op === "maximum" ? u > v : u < v;
    const share = u === v ? 0.5 : 1;
    if (u === v || aWins) da[i % a.length] += share * g[i];
    if (u === v || !aWins) db[i % b.length] += share * g[i];
  }
  return { da, db };
}

/** `mask ≠ 0 ? a : b` over `n` outputs (each operand repeating). */
export function whereReference(
  mask: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n: number,
): Float64Array {
  return Float64Array.from(
    { length: n },
    (_, i) => (mask[i % mask.length] !== 0 ? a[i % a.length] : b[i % b.length]),
  );
}

/** Gradients of `whereReference` for operands of `na` and `nb` elements. */
export function whereGradReference(
  mask: ArrayLike<number>,
  g: ArrayLike<number>,
  na: number,
  nb: number,
): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(na);
  const db = new Float64Array(nb);
  for (let i = 0; i < g.length; i++) {
    if (mask[i % mask.length] !== 0) da[i % na] += g[i];
    else db[i % nb] += g[i];
  }
  return { da, db };
}

/** [outer, len, inner] around `axis` of `shape`. */
export function axisSplit(shape: readonly number[], axis: number): [number, number, number] {
  const a = axis < 0 ? axis + shape.length : axis;
  const prod = (d: readonly number[]) => d.reduce((n, v) => n * v, 1);
  return [prod(shape.slice(0, a)), shape[a], prod(shape.slice(a + 1))];
}

/**
 * Reduction of x [outer, len, inner] over len: sum, mean, or max/min with the first index of
 * the extreme (`indices`, all zero for sum/mean).
 */
export function reduceAxisReference(
  op: "sum" | "mean" | "max" | "min",
  x: ArrayLike<number>,
  outer: number,
  len: number,
  inner: number,
): { values: Float64Array; indices: Int32Array } {
  const values = new Float64Array(outer * inner);
  const indices = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const at = (l: number) => x[(o * len + l) * inner + k];
      let acc = op === "sum" || op === "mean" ? 0 : at(0);
      let index = 0;
      for (let l = 0; l < len; l++) {
        const v = at(l);
        if (op === "sum" || op === "mean") acc += v;
        else if (op === "max" ? v > acc : v < acc) [acc, index] = [v, l];
      }
      values[o * inner + k] = op === "mean" ? acc / len : acc;
      indices[o * inner + k] = index;
    }
  }
  return { values, indices };
}

/**
 * Gradient of a reduction over [outer, len, inner]: `g` repeated along the axis (over len for
 * mean), or sent to the selected index for max/min.
 */
export function reduceAxisGradReference(
  op: "sum" | "mean" | "max" | "min",
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  outer: number,
  len: number,
  inner: number,
): Float64Array {
  const { indices } = reduceAxisReference(op, x, outer, len, inner);
  const dx = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (let k = 0; k < inner; k++) {
        const gi = g[o * inner + k];
        const i = (o * len + l) * inner + k;
        if (op === "sum") dx[i] = gi;
        else if (op === "mean") dx[i] = gi / len;
        else dx[i] = indices[o * inner + k] === l ? gi : 0;
      }
    }
  }
  return dx;
}

/** Concatenation along the middle axis of [outer, len_i, inner] blocks. */
export function concatReference(
  parts: readonly ArrayLike<number>[],
  lens: readonly number[],
  outer: number,
  inner: number,
): Float64Array {
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, j) => {
      for (let i = 0; i < lens[j] * inner; i++) out.push(p[o * lens[j] * inner + i]);
    });
  }
  return Float64Array.from(out);
}

/** Positions [start, end) of the middle axis of x [outer, len, inner]. */
export function sliceReference(
  x: ArrayLike<number>,
  outer: number,
  len: number,
  inner: number,
  start: number,
  end: number,
): Float64Array {
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let l = start; l < end; l++) {
      for (let k = 0; k < inner; k++) out.push(x[(o * len + l) * inner + k]);
    }
  }
  return Float64Array.from(out);
}

/** [batch, m, n] → [batch, n, m]. */
export function transposeReference(
  x: ArrayLike<number>,
  batch: number,
  m: number,
  n: number,
): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) out[(z * n + j) * m + i] = x[(z * m + i) * n + j];
    }
  }
  return out;
}
