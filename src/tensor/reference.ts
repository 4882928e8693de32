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
export {
  axisSplit,
  type BinaryOpName,
  binaryReference,
  concatReference,
  extremumGradReference,
  reduceAxisGradReference,
  reduceAxisReference,
  sliceReference,
  transposeReference,
  unaryGradReference,
  type UnaryOpName,
  unaryReference,
  whereGradReference,
  whereReference,
} from "./reference/pointwise.ts";

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

/** LayerNorm over rows of length `cols` (biased variance); also returns mean and rstd per row. */
export function layerNormForward(
  x: Float64Array,
  weight: Float64Array,
  bias: Float64Array | null,
  cols: number,
  eps = 1e-5,
): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const rows = x.length / cols;
  const y = new Float64Array(x.length);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const m = row.reduce((s, v) => s + v, 0) / cols;
    const v = row.reduce((s, u) => s + (u - m) ** 2, 0) / cols;
    const rs = 1 / Math.sqrt(v + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let c = 0; c < cols; c++) {
      y[r * cols + c] = (row[c] - m) * rs * weight[c] + (bias ? bias[c] : 0);
    }
  }
  return { y, mean, rstd };
}

/** Gradients of `layerNormForward` given dy. */
export function layerNormBackward(
  x: Float64Array,
  weight: Float64Array,
  dy: Float64Array,
  cols: number,
  eps = 1e-5,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { mean, rstd } = layerNormForward(x, weight, null, cols, eps);
  const rows = x.length / cols;
  const dx = new Float64Array(x.length);
  const dweight = new Float64Array(cols);
  const dbias = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let sumD = 0;
    let sumDX = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x[i] - mean[r]) * rstd[r];
      const d = dy[i] * weight[c];
      sumD += d;
      sumDX += d * xhat;
      dweight[c] += dy[i] * xhat;
      dbias[c] += dy[i];
    }
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x[i] - mean[r]) * rstd[r];
      dx[i] = rstd[r] * (dy[i] * weight[c] - sumD / cols - (xhat * sumDX) / cols);
    }
  }
  return { dx, dweight, dbias };
}

/** Softmax over rows of length `cols`. */
export function softmaxForward(x: Float64Array, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const m = Math.max(...row);
    let s = 0;
    for (let c = 0; c < cols; c++) s += y[r * cols + c] = Math.exp(row[c] - m);
    for (let c = 0; c < cols; c++) y[r * cols + c] /= s;
  }
  return y;
}

/** Softmax backward from its output y: dx = y · (dy − Σ dy·y) per row. */
export function softmaxBackward(y: Float64Array, dy: Float64Array, cols: number): Float64Array {
  const dx = new Float64Array(y.length);
  for (let r = 0; r < y.length / cols; r++) {
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += y[r * cols + c] * dy[r * cols + c];
    for (let c = 0; c < cols; c++) dx[r * cols + c] = y[r * cols + c] * (dy[r * cols + c] - dot);
  }
  return dx;
}

/** Rows of `table` [V, cols] picked by `ids` (zero rows for ids outside [0, V)). */
export function embeddingForward(ids: ArrayLike<number>, table: Float64Array, cols: number) {
  const vocab = table.length / cols;
  const out = new Float64Array(ids.length * cols);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id >= 0 && id < vocab) out.set(table.subarray(id * cols, (id + 1) * cols), r * cols);
  }
  return out;
}

/** Table gradient of `embeddingForward`: scatter-add of dy rows into their ids. */
export function embeddingBackward(
  ids: ArrayLike<number>,
  dy: Float64Array,
  vocab: number,
  cols: number,
): Float64Array {
  const dtable = new Float64Array(vocab * cols);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id < 0 || id >= vocab) continue;
    for (let c = 0; c < cols; c++) dtable[id * cols + c] += dy[r * cols + c];
  }
  return dtable;
}

/** [a,b,c,d] → [a,c,b,d] (splitHeads is this on [B,T,H,D]; mergeHeads its inverse). */
export function swapMiddle(
  x: Float64Array,
  a: number,
  b: number,
  c: number,
  d: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      for (let k = 0; k < c; k++) {
        for (let l = 0; l < d; l++) {
          out[((i * c + k) * b + j) * d + l] = x[((i * b + j) * c + k) * d + l];
        }
      }
    }
  }
  return out;
}

/** PCG output-permutation hash on u32 (the dropout kernel's RNG). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Dropout as the kernel defines it: keep element i when pcg(i ^ pcg(seed)) ≥ p·2³². */
export function dropoutForward(x: Float64Array, p: number, seed: number): Float64Array {
  const threshold = Math.min(0xffffffff, Math.round(p * 2 ** 32));
  const s = pcgHash(seed >>> 0);
  return x.map((v, i) => (pcgHash((i ^ s) >>> 0) >= threshold ? v / (1 - p) : 0));
}
