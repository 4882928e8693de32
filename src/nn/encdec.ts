/**
 * Encoder–decoder transformers over engine ops, read top to bottom: attention layers, blocks,
 * the latent bottleneck, the model.
 *
 * - `encdec` (the multiplication study's SimpleTransformer): a pre-LN encoder (full
 *   self-attention over the source, padding hidden) and a pre-LN decoder whose blocks run causal
 *   self-attention, cross-attention to the encoder's memory and a GELU MLP; learned positions.
 * - `latent_encdec` (its LatentTransformer): `num_latent` learned tokens cross-attend to the
 *   encoder memory, then an MLP and a LayerNorm; the decoder cross-attends to those latents only
 *   (`bottleneck_factor` 1), or to the latents followed by the encoder memory scaled by
 *   1 − factor (factor < 1).
 *
 * Rows are the GPT's `[B, T]` token rows: positions 0…source_len−1 are the source, the rest the
 * decoder's inputs (see `encdec_config.ts`); logits cover all T positions (zeros over the source,
 * whose targets are ignored), so the trainer, validation and task metrics run unchanged.
 * Parameter names: `wte` (shared by both sides and tied to the head), `encoder.wpe`,
 * `encoder.h.<i>.*`, `encoder.ln_f`, `latent.*`, `wpe`, `decoder.h.<i>.{attn,cross_attn,mlp}.*`,
 * `ln_f`.
 *
 * @module
 */

import type { Device } from "../gpu/device.ts";
import type { ParameterSet } from "../tensor/parameters.ts";
import { ops } from "../tensor/ops.ts";
import { noGrad, Tensor, untracked } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import { ForwardContext, type ForwardOptions, type ForwardResult, MLP } from "./gpt.ts";
import type { GPTConfig } from "./gpt_config.ts";
import {
  encDecFlopsPerToken,
  type ResolvedEncDecConfig,
  resolveEncDecConfig,
} from "./encdec_config.ts";
import { Embedding, LayerNorm, Linear } from "./layers.ts";
import { type Param, ParamBuilder } from "./params.ts";

/** Keys and values of one cross-attention layer's memory, `[B, H, Tk, D]`, and its key mask. */
export interface CrossMemory {
  keys: Tensor;
  values: Tensor;
  /** f32 `[B, Tk]`: 1 = visible, 0 = padding; null when every key is visible. */
  keyMask: Tensor | null;
}

function linearOpts(cfg: ResolvedEncDecConfig, std = cfg.init_std) {
  return { bias: cfg.bias, uniformBias: cfg.uniformBias, std };
}

/** Self-attention with a fused QKV projection: full (encoder) or causal (decoder). */
export class SelfAttention {
  readonly cAttn: Linear;
  readonly cProj: Linear;

  constructor(pb: ParamBuilder, prefix: string, readonly cfg: ResolvedEncDecConfig) {
    const d = cfg.d_model;
    this.cAttn = new Linear(pb, `${prefix}.c_attn`, d, 3 * d, linearOpts(cfg));
    this.cProj = new Linear(pb, `${prefix}.c_proj`, d, d, linearOpts(cfg, cfg.residualStd));
  }

  /** x [B,T,C] → [B,T,C]; a decoding `ctx` supplies cached keys and values (causal only). */
  forward(x: Tensor, ctx: ForwardContext, opts: { causal: boolean; keyMask?: Tensor | null }) {
    const [query, key, value] = this.cAttn.forwardSplit(x, 3);
    const { keys, values } = opts.causal
      ? ctx.keysValues(key, value)
      : { keys: key, values: value };
    const [q, k, v] = [query, keys, values].map((y) => ops.splitHeads(y, this.cfg.n_head));
    const y = ops.attention(q, k, v, { causal: opts.causal, keyMask: opts.keyMask ?? undefined });
    return ctx.drop(this.cProj.forward(ops.mergeHeads(y)));
  }
}

/** Cross-attention: queries from x, keys and values projected from a memory. */
export class CrossAttention {
  readonly qProj: Linear;
  readonly kvProj: Linear;
  readonly cProj: Linear;

  constructor(pb: ParamBuilder, prefix: string, readonly cfg: ResolvedEncDecConfig) {
    const d = cfg.d_model;
    this.qProj = new Linear(pb, `${prefix}.q_proj`, d, d, linearOpts(cfg));
    this.kvProj = new Linear(pb, `${prefix}.kv_proj`, d, 2 * d, linearOpts(cfg));
    this.cProj = new Linear(pb, `${prefix}.c_proj`, d, d, linearOpts(cfg, cfg.residualStd));
  }

  /** Projects a memory [B,Tk,C] to this layer's heads (done once per source when decoding). */
  project(memory: Tensor, keyMask: Tensor | null): CrossMemory {
    const [k, v] = this.kvProj.forwardSplit(memory, 2);
    return {
      keys: ops.splitHeads(k, this.cfg.n_head),
      values: ops.splitHeads(v, this.cfg.n_head),
      keyMask,
    };
  }

  /** x [B,Tq,C] attending to a projected memory → [B,Tq,C]. */
  forward(x: Tensor, memory: CrossMemory, ctx: ForwardContext): Tensor {
    const q = ops.splitHeads(this.qProj.forward(x), this.cfg.n_head);
    const y = ops.attention(q, memory.keys, memory.values, {
      causal: false,
      keyMask: memory.keyMask ?? undefined,
    });
    return ctx.drop(this.cProj.forward(ops.mergeHeads(y)));
  }
}

function layerNorm(pb: ParamBuilder, name: string, cfg: ResolvedEncDecConfig): LayerNorm {
  return new LayerNorm(pb, name, cfg.d_model, { bias: cfg.bias, eps: cfg.ln_eps });
}

/** Pre-LN encoder block: x + attn(ln_1(x)) over the whole source, then x + mlp(ln_2(x)). */
export class EncoderBlock {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;

  constructor(pb: ParamBuilder, prefix: string, cfg: ResolvedEncDecConfig) {
    this.ln1 = layerNorm(pb, `${prefix}.ln_1`, cfg);
    this.attn = new SelfAttention(pb, `${prefix}.attn`, cfg);
    this.ln2 = layerNorm(pb, `${prefix}.ln_2`, cfg);
    this.mlp = new MLP(pb, `${prefix}.mlp`, cfg);
  }

  /** x [B,S,C] with the source's key mask [B,S] → [B,S,C]. */
  forward(x: Tensor, keyMask: Tensor, ctx: ForwardContext): Tensor {
    x = ops.add(x, this.attn.forward(this.ln1.forward(x), ctx, { causal: false, keyMask }));
    return ops.add(x, this.mlp.forward(this.ln2.forward(x), ctx));
  }
}

/** Pre-LN decoder block: causal self-attention, cross-attention to the memory, MLP. */
export class DecoderBlock {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly crossAttn: CrossAttention;
  readonly ln3: LayerNorm;
  readonly mlp: MLP;

  constructor(pb: ParamBuilder, prefix: string, cfg: ResolvedEncDecConfig) {
    this.ln1 = layerNorm(pb, `${prefix}.ln_1`, cfg);
    this.attn = new SelfAttention(pb, `${prefix}.attn`, cfg);
    this.ln2 = layerNorm(pb, `${prefix}.ln_2`, cfg);
    this.crossAttn = new CrossAttention(pb, `${prefix}.cross_attn`, cfg);
    this.ln3 = layerNorm(pb, `${prefix}.ln_3`, cfg);
    this.mlp = new MLP(pb, `${prefix}.mlp`, cfg);
  }

  /** x [B,T,C] → [B,T,C]. */
  forward(x: Tensor, memory: CrossMemory, ctx: ForwardContext): Tensor {
    x = ops.add(x, this.attn.forward(this.ln1.forward(x), ctx, { causal: true }));
    x = ops.add(x, this.crossAttn.forward(this.ln2.forward(x), memory, ctx));
    return ops.add(x, this.mlp.forward(this.ln3.forward(x), ctx));
  }
}

/**
 * The latent bottleneck: learned tokens [N, C] cross-attend to the encoder memory
 * (z + attn(ln_1(z), memory)), then z + mlp(ln_2(z)), then ln_f.
 */
export class LatentBottleneck {
  readonly tokens: Param;
  readonly ln1: LayerNorm;
  readonly crossAttn: CrossAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  readonly lnF: LayerNorm;

  constructor(pb: ParamBuilder, prefix: string, readonly cfg: ResolvedEncDecConfig) {
    this.tokens = pb.normal(`${prefix}.tokens`, [cfg.numLatent, cfg.d_model], cfg.init_std);
    this.ln1 = layerNorm(pb, `${prefix}.ln_1`, cfg);
    this.crossAttn = new CrossAttention(pb, `${prefix}.cross_attn`, cfg);
    this.ln2 = layerNorm(pb, `${prefix}.ln_2`, cfg);
    this.mlp = new MLP(pb, `${prefix}.mlp`, cfg);
    this.lnF = layerNorm(pb, `${prefix}.ln_f`, cfg);
  }

  /** Encoder memory [B,S,C] (key mask [B,S]) → latent memory [B,N,C]. */
  forward(memory: Tensor, keyMask: Tensor, ctx: ForwardContext, scratch: Tensor[]): Tensor {
    const batch = memory.shape[0];
    const zeros = Tensor.zeros(memory.device, [batch, this.cfg.numLatent, this.cfg.d_model]);
    scratch.push(zeros);
    let z = ops.add(zeros, this.tokens.tensor); // the learned tokens, once per row
    const projected = this.crossAttn.project(memory, keyMask);
    z = ops.add(z, this.crossAttn.forward(this.ln1.forward(z), projected, ctx));
    z = ops.add(z, this.mlp.forward(this.ln2.forward(z), ctx));
    return this.lnF.forward(z);
  }
}

/** The memory the decoder cross-attends to: `[B, Tk, C]` and its key mask (null: all visible). */
export interface EncodedSource {
  memory: Tensor;
  keyMask: Tensor | null;
}

/**
 * An encoder–decoder language model (`encdec`, or `latent_encdec` with `latent: true`).
 *
 * @example
 * ```ts
 * const model = new EncoderDecoder(dev, { ...cfg, name: "encdec", source_len: 5, pad_id: 13 }, {
 *   seed: 1,
 * });
 * const { loss } = model.forward(ids, { targets }); // ids [B, 5 + T_dec]
 * ```
 */
export class EncoderDecoder {
  readonly config: GPTConfig;
  readonly resolved: ResolvedEncDecConfig;
  readonly params: ParameterSet;
  readonly wte: Embedding;
  readonly encoderWpe: Embedding;
  readonly encoder: EncoderBlock[];
  readonly encoderLnF: LayerNorm;
  readonly latent: LatentBottleneck | null;
  readonly wpe: Embedding;
  readonly decoder: DecoderBlock[];
  readonly lnF: LayerNorm;
  readonly lmHead: Linear | null;
  private readonly positionIds = new Map<number, Tensor>();
  /** Tensors outside the tape made by the last training forward, freed by the next one. */
  private scratch: Tensor[] = [];

  constructor(readonly device: Device, cfg: GPTConfig, opts: { seed: number; latent?: boolean }) {
    this.config = cfg;
    const c = resolveEncDecConfig(cfg, opts.latent ?? false);
    this.resolved = c;
    const pb = new ParamBuilder(opts.seed);
    this.wte = new Embedding(pb, "wte", c.vocab_size, c.d_model, c.init_std);
    this.encoderWpe = new Embedding(pb, "encoder.wpe", c.sourceLen, c.d_model, c.init_std);
    this.encoder = Array.from(
      { length: c.nEncoderLayer },
      (_, i) => new EncoderBlock(pb, `encoder.h.${i}`, c),
    );
    this.encoderLnF = layerNorm(pb, "encoder.ln_f", c);
    this.latent = c.latent ? new LatentBottleneck(pb, "latent", c) : null;
    this.wpe = new Embedding(pb, "wpe", c.targetLen, c.d_model, c.init_std);
    this.decoder = Array.from(
      { length: c.n_layer },
      (_, i) => new DecoderBlock(pb, `decoder.h.${i}`, c),
    );
    this.lnF = layerNorm(pb, "ln_f", c);
    this.lmHead = c.tie_embeddings
      ? null
      : new Linear(pb, "lm_head", c.d_model, c.vocab_size, { bias: false, std: c.init_std });
    this.params = pb.build(device);
  }

  /** Total number of parameters (a tied head counted once). */
  numParams(): number {
    return this.params.numel;
  }

  /** Training FLOPs per token (see {@link encDecFlopsPerToken}). */
  flopsPerToken(seqLen: number): number {
    return encDecFlopsPerToken(this.resolved, seqLen);
  }

  /**
   * Source ids i32 [B,S] → the memory the decoder attends to. Run once per source when decoding.
   * `scratch` collects tensors made outside the tape (masks) for the caller to free.
   */
  encode(sourceIds: Tensor, ctx: ForwardContext, scratch: Tensor[]): EncodedSource {
    const c = this.resolved;
    const [batch, s] = sourceIds.shape;
    const isPad = ops.eq(sourceIds, c.padId);
    const keyMask = ops.where(isPad, 0, 1); // [B,S]
    isPad.release();
    scratch.push(keyMask);
    let x = ops.add(this.wte.forward(sourceIds), this.encoderWpe.forward(this.positions(0, s)));
    x = ctx.drop(x);
    for (const block of this.encoder) {
      const input = x;
      x = ctx.checkpoint(() => block.forward(input, keyMask, ctx));
    }
    const memory = this.encoderLnF.forward(x);
    if (!this.latent) return { memory, keyMask };
    const latent = this.latent;
    const latents = ctx.checkpoint(() => latent.forward(memory, keyMask, ctx, scratch));
    const factor = c.bottleneckFactor;
    if (factor === 1) return { memory: latents, keyMask: null };
    const ones = Tensor.fromArray(this.device, new Float32Array(batch * c.numLatent).fill(1), [
      batch,
      c.numLatent,
    ]);
    const joinedMask = ops.concat([ones, keyMask], 1);
    scratch.push(ones, joinedMask);
    return { memory: ops.concat([latents, ops.scale(memory, 1 - factor)], 1), keyMask: joinedMask };
  }

  /** Each decoder layer's projection of the memory (what decoding computes once per source). */
  projectMemory(encoded: EncodedSource): CrossMemory[] {
    return this.decoder.map((b) => b.crossAttn.project(encoded.memory, encoded.keyMask));
  }

  /**
   * Decoder ids i32 [B,T] (BOS first) over projected memories → logits [B,T,V]. With
   * `opts.cache` (batch 1, no tape), positions start at `cache.filled` and the self-attention
   * keys and values are read from and appended to the cache.
   */
  decode(
    ids: Tensor,
    memories: CrossMemory[],
    ctx: ForwardContext,
    opts: { offset?: number; lastLogitsOnly?: boolean } = {},
  ): Tensor {
    const t = ids.shape[1];
    const offset = opts.offset ?? 0;
    let x = ops.add(this.wte.forward(ids), this.wpe.forward(this.positions(offset, t)));
    x = ctx.drop(x);
    for (const [layer, block] of this.decoder.entries()) {
      ctx.layer = layer;
      const input = x;
      x = ctx.checkpoint(() => block.forward(input, memories[layer], ctx));
    }
    if (opts.lastLogitsOnly) x = ops.slice(x, 1, -1);
    x = this.lnF.forward(x);
    const head = this.lmHead ? this.lmHead.weight.tensor : this.wte.weight.tensor;
    return ops.linear(x, head);
  }

  /**
   * ids i32 [B, source_len + T_dec] → loss (with targets) or logits [B,T,V] whose source
   * positions are 0 (their targets must be ignored, −1).
   */
  forward(ids: Tensor, opts: ForwardOptions = {}): ForwardResult {
    const c = this.resolved;
    const [batch, seqLen] = ids.shape;
    if (ids.shape.length !== 2 || ids.dtype !== "i32") {
      throw new UserError(
        `${c.name}.forward: ids must be i32 [B,T], got ${ids.dtype} [${ids.shape}]`,
      );
    }
    if (seqLen <= c.sourceLen || seqLen > c.max_seq_len) {
      throw new UserError(
        `${c.name}.forward: rows of ${seqLen} tokens; expected source_len ${c.sourceLen} + 1 to ` +
          `max_seq_len ${c.max_seq_len}`,
      );
    }
    if (opts.cache || opts.capture || opts.onAttention) {
      throw new Error(`${c.name}.forward: decode with generateEncDec (no GPT cache or capture)`);
    }
    for (const t of this.scratch) t.release();
    this.scratch = [];
    const scratch = this.scratch;
    const ctx = new ForwardContext(opts.train ? c.dropout : 0, opts.dropoutSeed ?? 0, {
      checkpointActivations: opts.checkpointActivations,
    });
    const { source, target } = splitRows(ids, c.sourceLen, scratch);
    const memories = this.projectMemory(this.encode(source, ctx, scratch));
    const decoded = this.decode(target, memories, ctx); // [B, T−S, V]
    const zeros = Tensor.zeros(this.device, [batch, c.sourceLen, c.vocab_size]);
    scratch.push(zeros);
    const logits = ops.concat([zeros, decoded], 1);
    if (!opts.targets) return { logits };
    const flat = logits.reshape([batch * seqLen, c.vocab_size]);
    return { loss: ops.crossEntropy(flat, opts.targets.reshape([batch * seqLen])) };
  }

  /** Position ids offset…offset+t−1 (i32); those from 0 are made once per length. */
  private positions(offset: number, t: number): Tensor {
    if (offset > 0) {
      const ids = Int32Array.from({ length: t }, (_, i) => offset + i);
      return Tensor.fromArray(this.device, ids, [t], { dtype: "i32" });
    }
    let p = this.positionIds.get(t);
    if (!p) {
      p = untracked(() =>
        noGrad(() =>
          Tensor.fromArray(this.device, Int32Array.from({ length: t }, (_, i) => i), [t], {
            dtype: "i32",
          })
        )
      );
      this.positionIds.set(t, p);
    }
    return p;
  }
}

/**
 * Splits i32 rows [B,T] into source [B,S] and decoder [B,T−S] ids with two buffer copies (the
 * slice op is f32 only; ids carry no gradient).
 */
function splitRows(ids: Tensor, s: number, scratch: Tensor[]): { source: Tensor; target: Tensor } {
  const [batch, seqLen] = ids.shape;
  const source = Tensor.empty(ids.device, [batch, s], { dtype: "i32" });
  const target = Tensor.empty(ids.device, [batch, seqLen - s], { dtype: "i32" });
  const copy = ids.device.recorder.copyEncoder();
  for (let r = 0; r < batch; r++) {
    copy.copyBufferToBuffer(
      ids.buffer,
      ids.byteOffset + r * seqLen * 4,
      source.buffer,
      source.byteOffset + r * s * 4,
      s * 4,
    );
    copy.copyBufferToBuffer(
      ids.buffer,
      ids.byteOffset + (r * seqLen + s) * 4,
      target.buffer,
      target.byteOffset + r * (seqLen - s) * 4,
      (seqLen - s) * 4,
    );
  }
  scratch.push(source, target);
  return { source, target };
}
