/**
 * Matmul (batched, with transposed-operand variants so backward needs no copies) and linear.
 * Kernels: shaders/matmul.wgsl.
 */

import { MATMUL_UNIFORMS } from "../../gpu/autotune.ts";
import { defineKernel, type Kernel } from "../../gpu/kernel.ts";
import { type MatmulTile, tileConstants } from "../../gpu/matmul_tiles.ts";
import type { BufferRegion } from "../../gpu/recorder.ts";
import { checkInputs, recordOp } from "../op.ts";
import { accumulateInto, formatShape, numel, Tensor } from "../tensor.ts";
import { sumRows, sumRowsInto, sumToShape } from "./reduce.ts";

/** Options of `matmul`: read an operand transposed (a kernel variant, no copy). */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** One (batched) product as the kernel sees it. */
export interface Gemm {
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

/** Products with at most this many rows (decoding) use the one-column-per-thread kernel. */
const ROWS_MAX = 8;
const ROWS_WORKGROUP = 64;
/** Smallest k range per split. */
const SPLIT_MIN_K = 256;
/** Split-K chunks are whole multiples of this (any stage depth divides it). */
const SPLIT_ALIGN = 32;
const kernels = new Map<string, Kernel>();

/** How one product runs: a tile of the menu (or the few-row kernel) and a split-K count. */
export interface GemmPlan {
  tile: MatmulTile | "rows";
  splits: number;
}

interface KernelChoice {
  tile: MatmulTile | "rows";
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  bias: boolean;
}

function kernelFor(c: KernelChoice): Kernel {
  const name = c.tile === "rows" ? "rows" : c.tile.name;
  const key = `${name}|${+c.transA}${+c.transB}${+c.accumulate}${+c.bias}`;
  let k = kernels.get(key);
  if (!k) {
    const flags = {
      TRANS_A: Number(c.transA),
      TRANS_B: Number(c.transB),
      ACCUMULATE: Number(c.accumulate),
    };
    const base = c.tile === "rows" ? "matmul_rows" : "matmul_tiled";
    k = defineKernel({
      shader: "matmul",
      entryPoint: c.bias ? `${base}_bias` : base,
      constants: c.tile === "rows" ? flags : { ...flags, ...tileConstants(c.tile) },
      uniforms: MATMUL_UNIFORMS,
    });
    kernels.set(key, k);
  }
  return k;
}

/**
 * The tile for a product on this device: the largest usable tile (from the tuned preference
 * down) that does not waste half of itself on padding and gives the adapter enough workgroups
 * to run at once. A long-k product with too few large tiles (a weight gradient) keeps the large
 * tile and splits k instead of dropping to tiles that reuse each load less.
 */
export function planGemm(
  g: Pick<Gemm, "batch" | "M" | "N" | "K">,
  tiles: readonly MatmulTile[],
  concurrency: number,
  allowSplit: boolean,
): GemmPlan {
  if (g.M <= ROWS_MAX) return { tile: "rows", splits: 1 };
  const fitting = tiles.filter((t, i) =>
    i === tiles.length - 1 || (g.M > t.BM / 2 && g.N > t.BN / 2)
  );
  const count = (t: MatmulTile) => Math.ceil(g.M / t.BM) * Math.ceil(g.N / t.BN) * g.batch;
  const largest = fitting[0];
  if (count(largest) >= concurrency) return { tile: largest, splits: 1 };
  if (allowSplit && g.batch === 1 && g.K >= 4 * SPLIT_MIN_K) {
    return { tile: largest, splits: splitsFor(g.K, count(largest), concurrency) };
  }
  for (const t of fitting) if (count(t) >= concurrency) return { tile: t, splits: 1 };
  return { tile: fitting[fitting.length - 1], splits: 1 };
}

/**
 * Split-K: a product with fewer tiles than the adapter runs at once (weight gradients: M, N =
 * layer widths, K = batch·context) splits K across workgroups; the partial products are then
 * summed in a fixed order, so the result stays deterministic for a given adapter.
 */
function splitsFor(K: number, tiles: number, concurrency: number): number {
  const wanted = Math.min(Math.ceil(concurrency / tiles), Math.floor(K / SPLIT_MIN_K));
  if (wanted <= 1) return 1;
  // Recount after rounding the chunk to whole stages, so no split is empty.
  return Math.ceil(K / chunkFor(K, wanted));
}

function chunkFor(K: number, splits: number): number {
  return Math.ceil(K / splits / SPLIT_ALIGN) * SPLIT_ALIGN;
}

/**
 * The region of `t` to bind as `array<vec4f>`: 16-byte aligned start, length rounded up to
 * whole vec4 (the kernel never reads the padding). Null when the buffer cannot provide that.
 */
function vec4Region(t: Tensor): BufferRegion | null {
  const byteLength = Math.ceil(t.byteLength / 16) * 16;
  if (t.byteOffset % 16 !== 0 || t.byteOffset + byteLength > t.buffer.size) return null;
  return { buffer: t.buffer, byteOffset: t.byteOffset, byteLength: Math.max(16, byteLength) };
}

/** Binds `t` as vec4, through a fresh copy when its own buffer cannot (held until flush). */
function bindVec4(t: Tensor, temps: Tensor[]): BufferRegion {
  const r = vec4Region(t);
  if (r) return r;
  const copy = t.clone();
  temps.push(copy);
  return vec4Region(copy)!;
}

/** Fused extras of one recorded product. */
interface GemmExtras {
  alpha?: number;
  /** `out +=` instead of `out =`. */
  accumulate?: boolean;
  /** Added per column after alpha (a linear layer's bias, [N]). */
  bias?: Tensor | null;
  /** Forces a plan (tests, autotune); otherwise chosen by `planGemm`. */
  plan?: GemmPlan;
}

/**
 * Records `out = alpha · op(a) · op(b) (+ bias)` (or `out +=` with `accumulate`) for
 * already-checked dims. `out` holds `batch` row-major [M, N] matrices.
 */
export function recordGemm(out: Tensor, a: Tensor, b: Tensor, g: Gemm, opts: GemmExtras = {}) {
  const dev = out.device;
  const alpha = opts.alpha ?? 1;
  const accumulate = opts.accumulate ?? false;
  const bias = opts.bias ?? null;
  const tuning = dev.matmulTuning;
  const plan = opts.plan ??
    planGemm(g, tuning.tiles, tuning.concurrency, bias === null);
  const splits = plan.splits;
  const temps: Tensor[] = [];
  // A quad along the contiguous dimension is one vec4 read when that dimension (and so the
  // batch stride) is a multiple of 4.
  const vecA = (g.transA ? g.M : g.K) % 4 === 0 && g.strideA % 4 === 0;
  const vecB = (g.transB ? g.K : g.N) % 4 === 0 && g.strideB % 4 === 0;
  const target = splits > 1 ? Tensor.empty(dev, [splits, g.M * g.N]) : out;
  const kernel = kernelFor({
    tile: plan.tile,
    transA: g.transA,
    transB: g.transB,
    accumulate: accumulate && splits === 1,
    bias: bias !== null,
  });
  const bindings = [bindVec4(a, temps), bindVec4(b, temps), target as BufferRegion];
  if (bias) bindings.push(bias);
  const workgroups: [number, number, number] = plan.tile === "rows"
    ? [Math.ceil(g.N / ROWS_WORKGROUP), 1, g.batch]
    : [Math.ceil(g.N / plan.tile.BN), Math.ceil(g.M / plan.tile.BM), g.batch * splits];
  kernel.dispatch(dev, {
    bindings,
    uniforms: {
      M: g.M,
      N: g.N,
      K: g.K,
      stride_a: g.strideA,
      stride_b: g.strideB,
      stride_c: g.M * g.N,
      alpha: splits > 1 ? 1 : alpha,
      splits,
      k_chunk: splits > 1 ? chunkFor(g.K, splits) : g.K,
      vec_a: Number(vecA),
      vec_b: Number(vecB),
    },
    workgroups,
  });
  if (splits > 1) {
    if (accumulate) {
      const summed = sumRows(target, g.M * g.N, out.shape, alpha);
      accumulateInto(out, summed);
      summed.release();
    } else {
      sumRowsInto(out, target, g.M * g.N, alpha);
    }
    target.release();
  }
  temps.forEach((t) => t.release());
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
  return recordOp("matmul", out, [a, b], (g) => [
    a.requiresGrad ? gradA(g, a, b, gemm) : null,
    b.requiresGrad ? gradB(g, a, b, gemm) : null,
  ]);
}

/**
 * Where a weight gradient can be written directly: a leaf (a parameter) whose `.grad` already
 * exists and is not shared across the batch. The product is then accumulated into it in the
 * matmul's epilogue (the value the tape's `grad += g` would give) and the tape gets null.
 */
function leafGrad(t: Tensor, shared: boolean): Tensor | null {
  return t.node === null && t.grad !== null && !shared ? t.grad : null;
}

/** dA from dC (per batch; summed over the batch when a was shared). */
function gradA(dC: Tensor, a: Tensor, b: Tensor, f: Gemm): Tensor | null {
  const { batch, M, N, K } = f;
  const shared = f.strideA === 0 && batch > 1;
  const direct = leafGrad(a, shared);
  const out = direct ?? Tensor.empty(a.device, shared ? [batch, a.size] : a.shape);
  const extras = { accumulate: direct !== null };
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
    }, extras);
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
    }, extras);
  }
  if (direct) return null;
  return shared ? reduceBatch(out, a.shape) : out;
}

/** dB from dC (per batch; summed over the batch when b was shared). */
function gradB(dC: Tensor, a: Tensor, b: Tensor, f: Gemm): Tensor | null {
  const { batch, M, N, K } = f;
  const shared = f.strideB === 0 && batch > 1;
  const direct = leafGrad(b, shared);
  const out = direct ?? Tensor.empty(b.device, shared ? [batch, b.size] : b.shape);
  const extras = { accumulate: direct !== null };
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
    }, extras);
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
    }, extras);
  }
  if (direct) return null;
  return shared ? reduceBatch(out, b.shape) : out;
}

function reduceBatch(perBatch: Tensor, shape: readonly number[]): Tensor {
  const summed = sumRows(perBatch, numel(shape), shape);
  perBatch.release();
  return summed;
}

/**
 * PyTorch's linear layer: `x[.., in] · wᵀ + bias`, with `w` [out, in] and `bias` [out]. The
 * bias is added in the product's epilogue (one dispatch).
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
  if (bias) {
    checkInputs("linear", bias);
    if (bias.size !== w.shape[0]) {
      throw new Error(
        `linear: bias ${formatShape(bias.shape)} does not match weight ${formatShape(w.shape)}`,
      );
    }
  }
  // x · wᵀ with every leading dim folded into M (plan() would fold them too).
  const [outF, inF] = w.shape;
  const gemm: Gemm = {
    batch: 1,
    M: x.size / inF,
    N: outF,
    K: inF,
    transA: false,
    transB: true,
    strideA: 0,
    strideB: 0,
  };
  const out = Tensor.empty(x.device, [...x.shape.slice(0, -1), outF]);
  recordGemm(out, x, w, gemm, { bias });
  const inputs = bias ? [x, w, bias] : [x, w];
  return recordOp("linear", out, inputs, (g) => {
    const dx = x.requiresGrad ? gradA(g, x, w, gemm) : null;
    const dw = w.requiresGrad ? gradB(g, x, w, gemm) : null;
    const db = bias?.requiresGrad ? sumToShape(g, bias.shape) : null;
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
