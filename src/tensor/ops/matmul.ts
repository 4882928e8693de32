/**
 * Matmul (batched, with transposed-operand variants so backward needs no copies) and linear.
 * Kernels: shaders/matmul.wgsl.
 */

import { MATMUL_UNIFORMS } from "../../gpu/autotune.ts";
import { defineKernel, type Kernel } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { formatShape, numel, Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { sumRows, sumRowsInto } from "./reduce.ts";

/** Options of `matmul`: read an operand transposed (a kernel variant, no copy). */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** One (batched) product as the kernel sees it. */
interface Gemm {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Elements between consecutive batch matrices of A (0 = broadcast). */
  strideA: number;
  strideB: number;
}

/** Kernel variants by shape: few rows, small, or large (the tuned 128×128 tile). */
type Variant = "rows" | "small" | "large";

/** Products with at most this many rows (decoding) use the one-column-per-thread kernel. */
const ROWS_MAX = 8;
/** Small shapes (tiny heads) waste a 128×128 tile; they get a 32×32 one. */
const SMALL_TILE = { BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 } as const;
const LARGE_TILE = 128;
const ROWS_WORKGROUP = 64;
/** Smallest k range per split. */
const SPLIT_MIN_K = 256;
const ENTRY: Record<Variant, string> = {
  rows: "matmul_rows",
  small: "matmul",
  large: "matmul_8x8",
};
const kernels = new Map<string, Kernel>();

function kernelFor(
  variant: Variant,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
  stageDepth: number,
): Kernel {
  const key = `${variant}${transA}${transB}${accumulate}${stageDepth}`;
  let k = kernels.get(key);
  if (!k) {
    const flags = {
      TRANS_A: Number(transA),
      TRANS_B: Number(transB),
      ACCUMULATE: Number(accumulate),
    };
    k = defineKernel({
      shader: "matmul",
      entryPoint: ENTRY[variant],
      constants: variant === "small"
        ? { ...flags, ...SMALL_TILE }
        : variant === "large"
        ? { ...flags, T8_BK: stageDepth }
        : flags,
      uniforms: MATMUL_UNIFORMS,
    });
    kernels.set(key, k);
  }
  return k;
}

function variantFor(g: Gemm): Variant {
  if (g.M <= ROWS_MAX) return "rows";
  return g.M >= 64 && g.N >= 64 ? "large" : "small";
}

function workgroupsFor(variant: Variant, g: Gemm): [number, number, number] {
  if (variant === "rows") return [Math.ceil(g.N / ROWS_WORKGROUP), 1, g.batch];
  const tile = variant === "large" ? LARGE_TILE : SMALL_TILE.BM;
  return [Math.ceil(g.N / tile), Math.ceil(g.M / tile), g.batch];
}

/**
 * Records `out = alpha · op(a) · op(b)` (or `out +=` with `accumulate`) for already-checked
 * dims. `out` holds `batch` row-major [M, N] matrices.
 */
export function recordGemm(
  out: Tensor,
  a: Tensor,
  b: Tensor,
  g: Gemm,
  opts: { alpha?: number; accumulate?: boolean } = {},
): void {
  const variant = variantFor(g);
  const alpha = opts.alpha ?? 1;
  const accumulate = opts.accumulate ?? false;
  const splits = variant === "large" && g.batch === 1 && !accumulate
    ? splitsFor(g, out.device.concurrentWorkgroups)
    : 1;
  const kChunk = Math.ceil(g.K / splits / 32) * 32; // whole stages at any tuned depth
  const target = splits > 1 ? Tensor.empty(out.device, [splits, g.M * g.N]) : out;
  const [x, y, z] = workgroupsFor(variant, g);
  const dev = out.device;
  kernelFor(variant, g.transA, g.transB, accumulate, dev.matmulStageDepth).dispatch(dev, {
    bindings: [a, b, target],
    uniforms: {
      M: g.M,
      N: g.N,
      K: g.K,
      stride_a: g.strideA,
      stride_b: g.strideB,
      stride_c: g.M * g.N,
      alpha: splits > 1 ? 1 : alpha,
      splits,
      k_chunk: splits > 1 ? kChunk : g.K,
    },
    workgroups: [x, y, z * splits],
  });
  if (splits > 1) {
    sumRowsInto(out, target, g.M * g.N, alpha);
    target.release();
  }
}

/**
 * Split-K: a large-tile product with fewer tiles than the adapter runs at once (weight gradients:
 * M, N = layer widths, K = batch·context) splits K across workgroups; the partial products are
 * then summed in a fixed order, so the result stays deterministic for a given adapter.
 */
function splitsFor(g: Gemm, concurrent: number): number {
  const tiles = Math.ceil(g.M / LARGE_TILE) * Math.ceil(g.N / LARGE_TILE);
  if (tiles >= concurrent) return 1;
  const wanted = Math.min(Math.ceil(concurrent / tiles), Math.floor(g.K / SPLIT_MIN_K));
  if (wanted <= 1) return 1;
  // Recount after rounding the chunk to whole stages, so no split is empty.
  return Math.ceil(g.K / (Math.ceil(g.K / wanted / 32) * 32));
}

/** Resolves shapes into a Gemm plus the output shape, or throws naming both shapes. */
function plan(a: Tensor, b: Tensor, transA: boolean, transB: boolean) {
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new Error(
      `matmul: operands need at least 2 dims: ${formatShape(a.shape)} x ${formatShape(b.shape)}`,
    );
  }
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const [M, K] = transA ? [a1, a0] : [a0, a1];
  const [K2, N] = transB ? [b1, b0] : [b0, b1];
  if (K !== K2) {
    throw new Error(
      `matmul: inner dimensions differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}` +
        (transA || transB ? ` (transA=${transA}, transB=${transB})` : ""),
    );
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = numel(batchA);
  const nB = numel(batchB);
  let batchShape: readonly number[];
  if (batchB.length === 0 && !transA) {
    // b is one matrix shared by every batch: fold the batch into M (one big product).
    return {
      gemm: { batch: 1, M: nA * M, N, K, transA, transB, strideA: 0, strideB: 0 },
      outShape: [...batchA, M, N],
      folded: true,
    };
  } else if (batchB.length === 0) {
    batchShape = batchA;
  } else if (batchA.length === 0) {
    batchShape = batchB;
  } else if (batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) {
    batchShape = batchA;
  } else {
    throw new Error(
      `matmul: batch dimensions differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}`,
    );
  }
  const batch = numel(batchShape);
  return {
    gemm: {
      batch,
      M,
      N,
      K,
      transA,
      transB,
      strideA: nA === 1 && batch > 1 ? 0 : M * K,
      strideB: nB === 1 && batch > 1 ? 0 : K * N,
    },
    outShape: [...batchShape, M, N],
    folded: false,
  };
}

/**
 * Batched matrix product `op(a) · op(b)`: a is [.., M, K] ([.., K, M] with transA), b is
 * [.., K, N] ([.., N, K] with transB); the batch dims must match, or one operand is a single
 * matrix shared by every batch.
 *
 * @example
 * ```ts
 * const scores = ops.matmul(q, k, { transB: true }); // [B,H,T,D] x [B,H,T,D]ᵀ → [B,H,T,T]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  checkInputs("matmul", a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const { gemm, outShape } = plan(a, b, transA, transB);
  const out = Tensor.empty(a.device, outShape);
  recordGemm(out, a, b, gemm);
  return recordOp("matmul", out, [a, b], (g) => {
    const ga = a.requiresGrad ? gradA(g, a, b, gemm) : null;
    const gb = b.requiresGrad ? gradB(g, a, b, gemm) : null;
    return [ga, gb];
  });
}

/** dA from dC (per batch; summed over the batch when a was shared). */
function gradA(dC: Tensor, a: Tensor, b: Tensor, f: Gemm): Tensor {
  const { batch, M, N, K } = f;
  const shared = f.strideA === 0 && batch > 1;
  const out = Tensor.empty(a.device, shared ? [batch, a.size] : a.shape);
  if (!f.transA) {
    // dA[M,K] = dC[M,N] · op(B)ᵀ
    recordGemm(out, dC, b, {
      batch,
      M,
      N: K,
      K: N,
      transA: false,
      transB: !f.transB,
      strideA: M * N,
      strideB: f.strideB,
    });
  } else {
    // dA[K,M] = op(B)[K,N] · dCᵀ
    recordGemm(out, b, dC, {
      batch,
      M: K,
      N: M,
      K: N,
      transA: f.transB,
      transB: true,
      strideA: f.strideB,
      strideB: M * N,
    });
  }
  return shared ? reduceBatch(out, a.shape) : out;
}

/** dB from dC (per batch; summed over the batch when b was shared). */
function gradB(dC: Tensor, a: Tensor, b: Tensor, f: Gemm): Tensor {
  const { batch, M, N, K } = f;
  const shared = f.strideB === 0 && batch > 1;
  const out = Tensor.empty(b.device, shared ? [batch, b.size] : b.shape);
  if (!f.transB) {
    // dB[K,N] = op(A)ᵀ[K,M] · dC[M,N]
    recordGemm(out, a, dC, {
      batch,
      M: K,
      N,
      K: M,
      transA: !f.transA,
      transB: false,
      strideA: f.strideA,
      strideB: M * N,
    });
  } else {
    // dB[N,K] = dCᵀ[N,M] · op(A)[M,K]
    recordGemm(out, dC, a, {
      batch,
      M: N,
      N: K,
      K: M,
      transA: true,
      transB: f.transA,
      strideA: M * N,
      strideB: f.strideA,
    });
  }
  return shared ? reduceBatch(out, b.shape) : out;
}

function reduceBatch(perBatch: Tensor, shape: readonly number[]): Tensor {
  const summed = sumRows(perBatch, numel(shape), shape);
  perBatch.release();
  return summed;
}

/**
 * PyTorch's linear layer: `x[.., in] · wᵀ + bias`, with `w` [out, in] and `bias` [out].
 *
 * @example
 * ```ts
 * const h = ops.linear(x, fcWeight, fcBias); // [B,T,C] → [B,T,4C]
 * ```
 */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  checkInputs("linear", x, w);
  if (w.shape.length !== 2 || x.lastDim !== w.shape[1]) {
    throw new Error(
      `linear: input ${formatShape(x.shape)} does not match weight ${formatShape(w.shape)} ` +
        `(expected [.., ${w.shape[1] ?? "?"}])`,
    );
  }
  let y: Tensor;
  if (x.shape.length === 1) {
    // A vector is a one-row matrix; the temporary views are freed once nothing records them.
    const x2 = x.reshape([1, x.size]);
    const y2 = matmul(x2, w, { transB: true });
    y = y2.reshape([w.shape[0]]);
    if (y.node === null) [x2, y2].forEach((t) => t.release());
  } else {
    y = matmul(x, w, { transB: true });
  }
  if (bias) {
    if (bias.size !== w.shape[0]) {
      throw new Error(
        `linear: bias ${formatShape(bias.shape)} does not match weight ${formatShape(w.shape)}`,
      );
    }
    const biased = add(y, bias);
    if (biased.node === null) y.release();
    y = biased;
  }
  return y;
}
