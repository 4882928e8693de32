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

/**
 * Batched `op(a) · op(b)`: a holds `batch` matrices [M,K] ([K,M] when transA), b holds [K,N]
 * ([N,K] when transB); returns `batch` matrices [M,N].
 */
export function matmulForward(
  a: Float64Array,
  b: Float64Array,
  batch: number,
  M: number,
  K: number,
  N: number,
  transA = false,
  transB = false,
): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K;
    const bo = z * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[ao + k * M + i] : a[ao + i * K + k];
          const bv = transB ? b[bo + j * K + k] : b[bo + k * N + j];
          s += av * bv;
        }
        out[z * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

/** Gradients of `matmulForward` given dC, in the stored layouts of a and b. */
export function matmulBackward(
  a: Float64Array,
  b: Float64Array,
  dc: Float64Array,
  batch: number,
  M: number,
  K: number,
  N: number,
  transA = false,
  transB = false,
): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K;
    const bo = z * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const g = dc[z * M * N + i * N + j];
        for (let k = 0; k < K; k++) {
          const ai = transA ? ao + k * M + i : ao + i * K + k;
          const bi = transB ? bo + j * K + k : bo + k * N + j;
          da[ai] += g * b[bi];
          db[bi] += g * a[ai];
        }
      }
    }
  }
  return { da, db };
}
