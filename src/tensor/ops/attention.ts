/**
 * Fused scaled-dot-product attention (flash style) and rotary position embeddings, forward and
 * backward side by side. Kernels: shaders/attention.wgsl, shaders/rope.wgsl.
 *
 * @module
 */

import type { Device } from "../../gpu/device.ts";
import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkDType, checkInputs, recordOp } from "../op.ts";
import { formatShape, noGrad, Tensor, untracked } from "../tensor.ts";
import { mul, scale as scaleBy } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { where } from "./pointwise.ts";
import { softmax } from "./softmax.ts";

/** Largest head width the kernels hold in their per-invocation row arrays. */
export const MAX_HEAD_DIM = 128;
/** Rows (queries, or keys in dK/dV) handled by one workgroup; matches ROWS_PER_GROUP in WGSL. */
const ROWS_PER_GROUP = 64;

const attentionUniforms = [
  ["tq", "u32"],
  ["tk", "u32"],
  ["causal", "u32"],
  ["scale", "f32"],
  ["heads", "u32"],
  ["masked", "u32"],
] as const;

/**
 * Queries staged per tile by the dK/dV pass: 16, or 8 where two 16-query tiles of a wide head
 * (D = 128: 16 KiB plus the lse/delta rows) would pass the device's workgroup memory.
 */
function queryTile(dev: Device, headDim: number): number {
  const vec4s = Math.ceil(headDim / 4);
  const bytes = (tile: number) => tile * (2 * vec4s * 16 + 8);
  return bytes(16) <= dev.limits.maxComputeWorkgroupStorageSize ? 16 : 8;
}

function attentionKernel(dev: Device, entryPoint: string, headDim: number) {
  const constants: Record<string, number> = { HEAD_DIM: headDim };
  if (entryPoint === "attention_backward_key_value") {
    constants.QUERY_TILE = queryTile(dev, headDim);
  }
  return defineKernel({
    shader: "attention",
    entryPoint,
    constants,
    uniforms: entryPoint === "attention_backward_delta" ? [["rows", "u32"]] : attentionUniforms,
  });
}

/** Options of `attention`. */
export interface AttentionOptions {
  /** Mask future keys (default true): query i sees keys j ≤ i + (Tk − Tq). */
  causal?: boolean;
  /**
   * Multiplies q·k before the softmax (default 1/sqrt(D)): a number, or a one-element f32 GPU
   * tensor (read on the GPU, no readback; it gets a gradient when it requires grad).
   */
  scale?: number | Tensor;
  /**
   * Key padding mask [B, Tk] (f32, no gradient): keys with a value below 0.5 are hidden from every
   * query and head of their batch row. Each row must keep at least one visible key.
   */
  keyMask?: Tensor;
}

/** What an attention observer is told about one `ops.attention` call. */
export interface AttentionReport {
  /** softmax(scale·q·kᵀ + mask) `[B,H,Tq,Tk]` as the call used it; the observer owns it. */
  probs: Tensor;
  /** The scale the call used (its default 1/√D resolved). */
  scale: number | Tensor;
  causal: boolean;
}

const observers: ((report: AttentionReport) => void)[] = [];

/**
 * Runs `fn` and hands `observer` the probabilities of every `ops.attention` call inside it, with
 * the call's own scale and mask (materialised with unfused ops, only while observed: the fused
 * kernel never stores them). The innermost observer gets them.
 *
 * @example
 * ```ts
 * const maps: Tensor[] = [];
 * observeAttention((r) => maps.push(r.probs), () => noGrad(() => model.forward(ids)));
 * ```
 */
export function observeAttention<T>(observer: (report: AttentionReport) => void, fn: () => T): T {
  observers.push(observer);
  try {
    return fn();
  } finally {
    observers.pop();
  }
}

/**
 * softmax(scale · q kᵀ) with the causal (KV-cache) mask when `causal`, from unfused ops and with
 * no tape (and the key padding mask when given): q [B,H,Tq,D], k [B,H,Tk,D] → [B,H,Tq,Tk]; scale defaults to 1/√D (a number or a
 * one-element tensor). The matrix the fused attention never stores.
 */
export function attentionProbabilities(
  q: Tensor,
  k: Tensor,
  scale?: number | Tensor,
  causal = true,
  keyMask?: Tensor,
): Tensor {
  return noGrad(() => {
    const D = q.shape[q.shape.length - 1];
    const raw = matmul(q, k, { transB: true });
    const s = scale ?? 1 / Math.sqrt(D);
    const scores = typeof s === "number" ? scaleBy(raw, s) : mul(raw, s);
    raw.release();
    const causalScores = causal ? causalMask(scores) : scores;
    if (causal) scores.release();
    const masked = keyMask ? hideMaskedKeys(causalScores, keyMask) : causalScores;
    if (keyMask) causalScores.release();
    const probs = softmax(masked);
    masked.release();
    return probs;
  });
}

interface AttentionShape {
  bh: number;
  heads: number;
  tq: number;
  tk: number;
  headDim: number;
}

function checkAttentionShapes(q: Tensor, k: Tensor, v: Tensor, causal: boolean): AttentionShape {
  checkInputs("attention", q, k, v);
  for (const [name, t] of [["q", q], ["k", k], ["v", v]] as const) {
    checkDType("attention", t, "f32", name);
    if (t.shape.length !== 4) {
      throw new Error(`attention: ${name} must be [B,H,T,D], got ${formatShape(t.shape)}`);
    }
  }
  const [b, h, tq, d] = q.shape;
  const tk = k.shape[2];
  const kvOk = k.shape[0] === b && k.shape[1] === h && k.shape[3] === d &&
    v.shape.every((n, i) => n === k.shape[i]);
  if (!kvOk) {
    throw new Error(
      `attention: shapes differ: q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, ` +
        `v ${formatShape(v.shape)} (k and v must be [B,H,Tk,D] with q's B, H and D)`,
    );
  }
  if (d < 1 || d > MAX_HEAD_DIM) {
    throw new Error(`attention: head dim ${d} is outside 1..${MAX_HEAD_DIM}`);
  }
  if (causal && tq > tk) {
    throw new Error(`attention: causal attention needs Tq <= Tk, got Tq ${tq} and Tk ${tk}`);
  }
  if (tk === 0 && tq > 0) throw new Error("attention: no keys (Tk = 0)");
  return { bh: b * h, heads: h, tq, tk, headDim: d };
}

function checkKeyMask(mask: Tensor, q: Tensor, tk: number): void {
  checkDType("attention", mask, "f32", "keyMask");
  if (mask.shape.length !== 2 || mask.shape[0] !== q.shape[0] || mask.shape[1] !== tk) {
    throw new Error(
      `attention: keyMask must be [B,Tk] = [${q.shape[0]},${tk}], got ${formatShape(mask.shape)}`,
    );
  }
}

/**
 * Fused causal (or full) self-attention: softmax(scale·q·kᵀ + mask)·v for q [B,H,Tq,D] and
 * k/v [B,H,Tk,D] → [B,H,Tq,D]. Tiled with an online softmax; only the per-row logsumexp is kept
 * for backward, which recomputes the probabilities tile by tile (no T×T matrix in memory).
 *
 * @example
 * ```ts
 * const y = ops.attention(q, k, v); // causal, scale 1/sqrt(D)
 * ```
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): Tensor {
  const causal = opts.causal ?? true;
  const shape = checkAttentionShapes(q, k, v, causal);
  const scale = opts.scale ?? 1 / Math.sqrt(shape.headDim);
  if (opts.keyMask !== undefined) checkKeyMask(opts.keyMask, q, shape.tk);
  const observer = observers.at(-1);
  if (observer) {
    // Owned by the observer, so it must outlive any tidy or step scope around this call.
    observer({
      probs: untracked(() => attentionProbabilities(q, k, scale, causal, opts.keyMask)),
      scale,
      causal,
    });
  }
  if (typeof scale !== "number") {
    checkScaleTensor(scale);
    // softmax((s·q)·kᵀ) = softmax(s·q·kᵀ): the tensor scale rides on q, and mul's backward
    // gives it its gradient.
    return fusedAttention(mul(q, scale), k, v, causal, shape, 1, opts.keyMask);
  }
  return fusedAttention(q, k, v, causal, shape, scale, opts.keyMask);
}

function checkScaleTensor(scale: Tensor): void {
  checkInputs("attention", scale);
  checkDType("attention", scale, "f32", "scale");
  if (scale.size !== 1) {
    throw new Error(
      `attention: a tensor scale must hold one element, got ${formatShape(scale.shape)}`,
    );
  }
}

function fusedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  causal: boolean,
  shape: AttentionShape,
  scale: number,
  mask: Tensor | undefined,
): Tensor {
  // Without a mask the kernels still need a buffer at the mask's binding; q is never read there.
  const keyMask = mask ?? q;
  const dev = q.device;
  const out = Tensor.empty(dev, q.shape);
  const lse = Tensor.empty(dev, [shape.bh, shape.tq]);
  const uniforms = {
    tq: shape.tq,
    tk: shape.tk,
    causal: causal ? 1 : 0,
    scale,
    heads: shape.heads,
    masked: mask === undefined ? 0 : 1,
  };
  attentionKernel(dev, "attention_forward", shape.headDim).dispatch(dev, {
    bindings: [q, k, v, out, lse, keyMask],
    uniforms,
    workgroups: [Math.ceil(shape.tq / ROWS_PER_GROUP), shape.bh],
  });
  const recorded = recordOp("attention", out, [q, k, v], (gradOut) => {
    const grads = attentionBackward(dev, shape, uniforms, [q, k, v, keyMask], out, lse, gradOut);
    lse.release();
    return grads;
  });
  if (recorded.node === null) lse.release();
  return recorded;
}

/**
 * FlashAttention-2 backward: delta_i = dO_i·O_i per row, then dQ (a query row per invocation)
 * and dK/dV (a key row per invocation), each recomputing p = exp(s − lse) from the saved
 * logsumexp. Every output element is written by one invocation, so results are deterministic.
 */
function attentionBackward(
  dev: Device,
  shape: AttentionShape,
  uniforms: Record<string, number>,
  [q, k, v, keyMask]: readonly Tensor[],
  out: Tensor,
  lse: Tensor,
  gradOut: Tensor,
): (Tensor | null)[] {
  const rows = shape.bh * shape.tq;
  const delta = Tensor.empty(dev, [rows]);
  attentionKernel(dev, "attention_backward_delta", shape.headDim).dispatch(dev, {
    bindings: [out, gradOut, delta],
    uniforms: { rows },
    workgroups: grid1d(rows, ROWS_PER_GROUP),
  });
  let dq: Tensor | null = null;
  if (q.requiresGrad) {
    dq = Tensor.empty(dev, q.shape);
    attentionKernel(dev, "attention_backward_query", shape.headDim).dispatch(dev, {
      bindings: [q, k, v, gradOut, lse, delta, dq, keyMask],
      uniforms,
      workgroups: [Math.ceil(shape.tq / ROWS_PER_GROUP), shape.bh],
    });
  }
  let dk: Tensor | null = null;
  let dv: Tensor | null = null;
  if (k.requiresGrad || v.requiresGrad) {
    dk = Tensor.empty(dev, k.shape);
    dv = Tensor.empty(dev, v.shape);
    attentionKernel(dev, "attention_backward_key_value", shape.headDim).dispatch(dev, {
      bindings: [q, k, v, gradOut, lse, delta, dk, dv],
      uniforms,
      workgroups: [Math.ceil(shape.tk / ROWS_PER_GROUP), shape.bh],
    });
    if (uniforms.masked !== 0) zeroMaskedKeyRows(dev, shape, keyMask, dk, dv);
  }
  delta.release();
  return [dq, dk, dv];
}

const keyRowsKernel = defineKernel({
  shader: "attention",
  entryPoint: "mask_key_rows",
  uniforms: [["n", "u32"], ["tk", "u32"], ["heads", "u32"], ["head_dim", "u32"]],
});

/** Zeroes dK and dV rows of masked keys (a separate pass: see mask_key_rows in the shader). */
function zeroMaskedKeyRows(
  dev: Device,
  shape: AttentionShape,
  keyMask: Tensor,
  dk: Tensor,
  dv: Tensor,
): void {
  keyRowsKernel.dispatch(dev, {
    bindings: [keyMask, dk, dv],
    uniforms: { n: dk.size, tk: shape.tk, heads: shape.heads, head_dim: shape.headDim },
    workgroups: grid1d(dk.size, 256),
  });
}

const NEGATIVE_INFINITY_BITS = 0xff800000;
const maskKernel = defineKernel({
  shader: "attention",
  entryPoint: "causal_mask",
  uniforms: [["n", "u32"], ["tq", "u32"], ["tk", "u32"], ["fill_bits", "u32"]],
});

/**
 * Scores [B,H,Tq,Tk] with the keys `keyMask` [B,Tk] hides set to −1e30 (diagnostics only: the
 * fused kernels mask in place). The keep-matrix comes from mask_key_rows run with one element per
 * "row": it zeroes entry i where batch i / (Tk·H·Tq) hides key i mod Tk.
 */
function hideMaskedKeys(scores: Tensor, keyMask: Tensor): Tensor {
  const [, heads, tq, tk] = scores.shape;
  const dev = scores.device;
  const ones = new Float32Array(scores.size).fill(1);
  const keep = Tensor.fromArray(dev, ones, scores.shape);
  const spare = Tensor.fromArray(dev, ones, scores.shape);
  keyRowsKernel.dispatch(dev, {
    bindings: [keyMask, keep, spare],
    uniforms: { n: scores.size, tk, heads: heads * tq, head_dim: 1 },
    workgroups: grid1d(scores.size, 256),
  });
  spare.release();
  const out = where(keep, scores, -1e30);
  keep.release();
  return out;
}

function applyCausalMask(x: Tensor, fillBits: number): Tensor {
  const tq = x.shape[x.shape.length - 2];
  const tk = x.shape[x.shape.length - 1];
  const y = Tensor.empty(x.device, x.shape);
  maskKernel.dispatch(x.device, {
    bindings: [x, y],
    uniforms: { n: x.size, tq, tk, fill_bits: fillBits },
    workgroups: grid1d(x.size, 256),
  });
  return y;
}

/**
 * Sets scores [.., Tq, Tk] that a causal query may not see to −inf (the KV-cache rule of
 * `attention`), for attention variants built from unfused ops (matmul, softmax, …). Backward
 * zeroes the gradient at the masked positions.
 *
 * @example
 * ```ts
 * const p = ops.softmax(ops.causalMask(ops.scale(ops.matmul(q, k, { transB: true }), s)));
 * ```
 */
export function causalMask(scores: Tensor): Tensor {
  checkInputs("causalMask", scores);
  checkDType("causalMask", scores, "f32", "scores");
  const r = scores.shape.length;
  if (r < 2 || scores.shape[r - 2] > scores.shape[r - 1]) {
    throw new Error(
      `causalMask: scores must be [.., Tq, Tk] with Tq <= Tk, got ${formatShape(scores.shape)}`,
    );
  }
  const y = applyCausalMask(scores, NEGATIVE_INFINITY_BITS);
  return recordOp("causalMask", y, [scores], (g) => [applyCausalMask(g, 0)]);
}
