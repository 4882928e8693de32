/**
 * Training diagnostics, each switched on in `training.diagnostics` and logged every `every` steps
 * as a `{"type":"diag"}` line: residual-stream norms of the first, middle and last block, layernorm
 * weight/bias gradient norms, attention entropy on a sampled set of (head, position) pairs, and GPU
 * bytes in use. They cost readbacks, so they run at their own (sparse) cadence.
 *
 * @module
 */

import type { DiagnosticsConfig } from "../config/schema.ts";
import type { BatchSource } from "../data/batch.ts";
import type { Device } from "../gpu/device.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";

/** A diagnostics line before its elapsed time is stamped. */
export type DiagValues = {
  type: "diag";
  step: number;
  [key: string]: number | string | number[] | null;
};

/** Mean over rows of the L2 norm of each row (`values` is [rows, width] row-major). */
export function meanRowNorm(values: Float32Array, width: number): number {
  const rows = values.length / width;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < width; c++) s += values[r * width + c] ** 2;
    total += Math.sqrt(s);
  }
  return total / rows;
}

/** L2 norm of a vector. */
export function l2(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] ** 2;
  return Math.sqrt(s);
}

/** Layernorm of one row (float64). */
function layerNormRow(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | undefined,
  eps: number,
): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
  const inv = 1 / Math.sqrt(variance / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * weight[i] + (bias?.[i] ?? 0);
  return out;
}

/**
 * Entropy (nats) of causal attention of one head at `position`, recomputed on the CPU (float64)
 * from the block's input residual `x` ([T, C] of one sequence) and its ln_1 and c_attn
 * parameters: the oracle of the diagnostic, which reads the probabilities the model used.
 */
export function attentionEntropy(opts: {
  x: Float32Array;
  dModel: number;
  nHead: number;
  head: number;
  position: number;
  lnWeight: Float32Array;
  lnBias?: Float32Array;
  lnEps: number;
  cAttnWeight: Float32Array; // [3C, C]
  cAttnBias?: Float32Array; // [3C]
  /** Multiplies q·k (default 1/√D, as `ops.attention`). */
  scale?: number;
}): number {
  const { dModel: C, nHead, head, position } = opts;
  const D = C / nHead;
  const project = (row: Float64Array, block: number) => {
    const out = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      const r = block * C + head * D + d;
      let s = opts.cAttnBias?.[r] ?? 0;
      for (let c = 0; c < C; c++) s += opts.cAttnWeight[r * C + c] * row[c];
      out[d] = s;
    }
    return out;
  };
  const norm = (t: number) =>
    layerNormRow(opts.x.subarray(t * C, (t + 1) * C), opts.lnWeight, opts.lnBias, opts.lnEps);
  const q = project(norm(position), 0);
  const scores = new Float64Array(position + 1);
  for (let j = 0; j <= position; j++) {
    const k = project(norm(j), 1);
    let s = 0;
    for (let d = 0; d < D; d++) s += q[d] * k[d];
    scores[j] = s * (opts.scale ?? 1 / Math.sqrt(D));
  }
  const max = Math.max(...scores);
  let z = 0;
  for (let j = 0; j <= position; j++) z += Math.exp(scores[j] - max);
  let entropy = 0;
  for (let j = 0; j <= position; j++) {
    const p = Math.exp(scores[j] - max) / z;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return entropy;
}

/** Entropy (nats) of one probability row. */
export function rowEntropy(row: ArrayLike<number>): number {
  let entropy = 0;
  for (let j = 0; j < row.length; j++) if (row[j] > 0) entropy -= row[j] * Math.log(row[j]);
  return entropy;
}

/**
 * Mean entropy of `samples` (head, query) rows of attention probabilities `probs` [1,H,T,T],
 * spread over heads and over positions (later positions see more keys).
 */
export function sampledEntropy(
  probs: Float32Array,
  heads: number,
  seqLen: number,
  samples: number,
): number {
  let total = 0;
  for (let s = 0; s < samples; s++) {
    const head = s % heads;
    const position = Math.round(((s + 1) * (seqLen - 1)) / samples);
    const start = (head * seqLen + position) * seqLen;
    total += rowEntropy(probs.subarray(start, start + seqLen));
  }
  return total / samples;
}

/** Runs the diagnostics a config switches on. */
export class Diagnostics {
  constructor(
    private readonly cfg: DiagnosticsConfig,
    private readonly dev: Device,
    private readonly model: LanguageModel,
    private readonly source: BatchSource,
  ) {}

  /** True when any diagnostic is on and `step` is on its cadence. */
  due(step: number): boolean {
    const c = this.cfg;
    const any = c.activation_norms || c.layernorm_grad_norms || c.attention_entropy ||
      c.gpu_memory;
    return any && step % c.every === 0;
  }

  /**
   * Measures after an optimizer step (the step's gradients are still in place: they are zeroed
   * at the start of the next step).
   */
  async afterStep(step: number): Promise<DiagValues> {
    const out: DiagValues = { type: "diag", step };
    if (this.cfg.gpu_memory) out.gpu_bytes = this.dev.bytesInUse();
    if (this.cfg.layernorm_grad_norms) Object.assign(out, await this.layerNormGradNorms());
    if (this.cfg.activation_norms || this.cfg.attention_entropy) {
      Object.assign(out, await this.fromResiduals());
    }
    return out;
  }

  private async layerNormGradNorms(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const grads = await this.model.params.readGrads();
    for (const [name, grad] of grads) {
      if (/(^|\.)ln_(1|2|f)\.(weight|bias)$/.test(name)) out[`grad_norm/${name}`] = l2(grad);
    }
    return out;
  }

  /**
   * Residual norms and attention entropy from one captured forward of validation batch 0. The
   * entropy is that of the probabilities each layer's attention reported (its own scale and
   * mask), not a recomputation.
   */
  private async fromResiduals(): Promise<Record<string, number | number[] | null>> {
    const batch = this.source.valBatch(0, 1);
    const C = this.model.config.d_model;
    const L = this.model.config.n_layer;
    const probs = new Map<number, Tensor>();
    const onAttention = this.cfg.attention_entropy
      ? (layer: number, p: Tensor) => {
        probs.get(layer)?.release();
        probs.set(layer, p);
      }
      : undefined;
    const residuals = tidy(() =>
      noGrad(() => {
        const ids = Tensor.fromArray(this.dev, batch.inputs, [1, batch.seqLen], { dtype: "i32" });
        return this.model.forward(ids, { capture: true, onAttention }).residuals!;
      })
    );
    const values = await Promise.all(residuals.map((r) => r.toArray() as Promise<Float32Array>));
    for (const r of residuals) r.release();
    const probValues = new Map<number, Float32Array>();
    for (const [layer, p] of probs) {
      probValues.set(layer, await p.toArray() as Float32Array);
      p.release();
    }
    const out: Record<string, number | number[] | null> = {};
    if (this.cfg.activation_norms) {
      // residuals[0] is the embedding output; residuals[i] is the output of block i-1.
      const picks: [string, number][] = [["first", 1], ["middle", Math.ceil(L / 2)], ["last", L]];
      for (const [label, i] of picks) out[`act_norm/${label}`] = meanRowNorm(values[i], C);
      out["act_norm/embedding"] = meanRowNorm(values[0], C);
    }
    if (this.cfg.attention_entropy) {
      // A layer whose attention reports nothing (built from unfused ops without
      // ctx.observeAttention) has no entropy: null rather than a guess.
      const samples = this.cfg.entropy_samples;
      const heads = this.model.config.n_head;
      out.attention_entropy = Array.from({ length: L }, (_, l) => {
        const p = probValues.get(l);
        return p ? sampledEntropy(p, heads, batch.seqLen, samples) : null;
      }) as number[];
    }
    return out;
  }
}
