/**
 * Float64 CPU oracle: a plain implementation of every op and its gradient, used by tests as the
 * judge of the GPU kernels. Arrays are row-major `Float64Array`s; shapes are passed explicitly.
 */

/** GELU (tanh form) forward. */
export function geluForward(x: Float64Array): Float64Array {
  const c = Math.sqrt(2 / Math.PI);
  return x.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3))));
}

/** GELU (tanh form) backward: dx = g · gelu'(x). */
export function geluBackward(x: Float64Array, g: Float64Array): Float64Array {
  const c = Math.sqrt(2 / Math.PI);
  return x.map((v, i) => {
    const t = Math.tanh(c * (v + 0.044715 * v ** 3));
    const du = c * (1 + 3 * 0.044715 * v * v);
    return g[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  });
}

/** `a + b` with `b` repeating over `a` (trailing-dim broadcast). */
export function addForward(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i % b.length]);
}

/** `a * b` with `b` repeating over `a` (trailing-dim broadcast). */
export function mulForward(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v * b[i % b.length]);
}

/** Gradient of a broadcast operand: sums `g` over the repeats of a `nb`-element operand. */
export function sumToSize(g: Float64Array, nb: number): Float64Array {
  const out = new Float64Array(nb);
  for (let i = 0; i < g.length; i++) out[i % nb] += g[i];
  return out;
}

/** Sum of all elements. */
export function sumAll(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return s;
}

/**
 * Central finite difference of a scalar function at `x`, for checking the oracle's gradients.
 */
export function numericGradient(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-6,
): Float64Array {
  const out = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    probe[i] = x[i] + h;
    const up = f(probe);
    probe[i] = x[i] - h;
    const down = f(probe);
    probe[i] = x[i];
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

export {
  attentionAllowed,
  attentionBackward,
  type AttentionDims,
  attentionForward,
  ropeReference,
} from "./reference/attention.ts";
export { crossEntropyReference } from "./reference/classifier.ts";
