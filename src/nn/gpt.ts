/**
 * A GPT decoder in plain TypeScript over engine ops, to be read top to bottom like nanoGPT's
 * model.py: config, attention, MLP, block, model. To try an idea, edit a `forward` here — every op
 * already has its WGSL forward and backward kernel — or override `GPT.createBlock` in a subclass.
 * Decoding with a KV cache runs these same forwards: attention takes its keys and values from
 * `ctx.keysValues` and its first position from `ctx.positionOffset`.
 *
 * Pre-LN blocks (x + attn(ln_1(x)), x + mlp(ln_2(x))), GELU (tanh) MLP of width d_ffn, learned
 * positions or RoPE, optional dropout, final layernorm, LM head tied to the token embedding by
 * option. Parameter names follow GPT-2/Hugging Face (`h.0.attn.c_attn.weight`, …). Dropout sits
 * where nanoGPT has it except on the attention probabilities, which the fused attention kernel
 * never materialises.
 *
 * @module
 */

import type { Device } from "../gpu/device.ts";
import type { ParameterSet } from "../tensor/parameters.ts";
import { ops } from "../tensor/ops.ts";
import { attentionProbabilities, observeAttention } from "../tensor/ops/attention.ts";
import { checkpoint } from "../tensor/checkpoint.ts";
import { isGradEnabled, noGrad, Tensor, untracked } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import { Embedding, LayerNorm, Linear } from "./layers.ts";
import { ParamBuilder } from "./params.ts";
import {
  type GPTConfig,
  gptFlopsPerToken,
  resolveConfig,
  type ResolvedConfig,
} from "./gpt_config.ts";

export type { GPTConfig } from "./gpt_config.ts";

/** Options of {@link GPT.forward}. */
export interface ForwardOptions {
  /** i32 [B,T] next-token targets (-1 = ignored) → a scalar mean loss instead of logits. */
  targets?: Tensor;
  /** Training mode: dropout active when the config's dropout > 0. */
  train?: boolean;
  /** Seed of this step's dropout masks (vary it per step). */
  dropoutSeed?: number;
  /**
   * Return the residual stream [B,T,C] after the embedding and after each block. In a forward
   * that records the tape, `backward()` frees them unless they are `retain()`ed.
   */
  capture?: boolean;
  /**
   * Continue one sequence (batch 1, no tape) whose earlier positions sit in `cache`: positions
   * start at `cache.filled`, and every attention layer stores its new keys and values there and
   * attends over all cached ones. The caller advances the cache afterwards (see `KVCache`).
   */
  cache?: AttentionCache;
  /** Logits of the last position only (`[1,1,V]`, batch 1): what decoding samples from. */
  lastLogitsOnly?: boolean;
  /**
   * Receives each layer's attention probabilities `[B,H,Tq,Tk]` as its attention used them (its
   * scale, its mask), materialised with unfused ops (the fused kernel never stores them). The
   * callee owns (and must release) the tensor.
   */
  onAttention?: (layer: number, probs: Tensor) => void;
  /**
   * Gradient checkpointing (`training.checkpoint_activations`): each block's activations are
   * recomputed in backward instead of kept (see `ForwardContext.checkpoint`); same losses and
   * gradients, less memory, one more forward per step.
   */
  checkpointActivations?: boolean;
}

/**
 * Where a cached forward keeps keys and values (implemented by `KVCache`): rows are positions,
 * `[capacity, C]` per layer, in the position-free layout the QKV projection produces.
 */
export interface AttentionCache {
  /** Positions already cached; this forward's tokens sit at filled, filled + 1, …. */
  readonly filled: number;
  /**
   * Stores `layer`'s new keys and values `[1,t,C]` after the cached rows and returns views of all
   * of them `[1, filled + t, C]` (recorded in order with the ops).
   */
  append(layer: number, keys: Tensor, values: Tensor): { keys: Tensor; values: Tensor };
}

/** What {@link GPT.forward} returns. */
export interface ForwardResult {
  loss?: Tensor;
  logits?: Tensor;
  residuals?: Tensor[];
}

/**
 * Per-forward state shared by the blocks: the dropout switch and a counter for mask seeds, and,
 * when decoding, the KV cache and the layer being run (set by `GPT.forward`).
 */
export class ForwardContext {
  private site = 0;
  /** Index of the block being run; `GPT.forward` sets it before each block. */
  layer = 0;

  constructor(
    readonly dropout: number,
    readonly seed: number,
    private readonly opts: Pick<
      ForwardOptions,
      "cache" | "onAttention" | "checkpointActivations"
    > = {},
  ) {}

  /** Position of this forward's first token (the cached length when decoding, else 0). */
  get positionOffset(): number {
    return this.opts.cache?.filled ?? 0;
  }

  /** Dropout with a distinct, reproducible mask per call site; identity when off. */
  drop(x: Tensor): Tensor {
    if (this.dropout === 0) return x;
    const seed = (Math.imul(this.seed >>> 0, 0x9e3779b1) + 7919 * ++this.site) >>> 0;
    return ops.dropout(x, this.dropout, seed);
  }

  /**
   * Runs one block, `fn`, through `checkpoint` when this forward checkpoints activations (else
   * just calls it). The replay in backward sees the dropout seed counter and layer index the
   * forward saw, so it draws the same masks.
   */
  checkpoint(fn: () => Tensor): Tensor {
    if (!this.opts.checkpointActivations) return fn();
    const [site, layer] = [this.site, this.layer];
    let replaying = false;
    return checkpoint(() => {
      if (!replaying) {
        replaying = true;
        return fn();
      }
      const [siteNow, layerNow] = [this.site, this.layer];
      [this.site, this.layer] = [site, layer];
      try {
        return fn();
      } finally {
        [this.site, this.layer] = [siteNow, layerNow];
      }
    }, `checkpoint(layer ${layer})`);
  }

  /**
   * The keys and values the current layer's queries attend to: this forward's own `[B,T,C]`, or,
   * with a KV cache, the cached positions followed by these (stored into the cache on the way).
   */
  keysValues(keys: Tensor, values: Tensor): { keys: Tensor; values: Tensor } {
    const cache = this.opts.cache;
    return cache ? cache.append(this.layer, keys, values) : { keys, values };
  }

  /**
   * Hands the current layer's attention probabilities to `onAttention` when one is set. Calls of
   * `ops.attention` report themselves (with their own scale and mask); an attention built from
   * unfused ops calls this with the scores' scale (a later report of a layer replaces an earlier).
   */
  observeAttention(q: Tensor, k: Tensor, scale?: number | Tensor): void {
    const hook = this.opts.onAttention;
    // The hook owns the matrix, so it must outlive the evaluation's tidy scope.
    if (hook) hook(this.layer, untracked(() => attentionProbabilities(q, k, scale)));
  }

  /** Runs the blocks of a forward so that every `ops.attention` inside reports to the hook. */
  observeBlocks<T>(fn: () => T): T {
    const hook = this.opts.onAttention;
    return hook ? observeAttention((r) => hook(this.layer, r.probs), fn) : fn();
  }
}

export { attentionProbabilities };

/** Multi-head causal self-attention with a fused QKV projection. */
export class CausalSelfAttention {
  readonly cAttn: Linear;
  readonly cProj: Linear;

  constructor(pb: ParamBuilder, prefix: string, readonly cfg: ResolvedConfig) {
    const d = cfg.d_model;
    const linear = { bias: cfg.bias, uniformBias: cfg.uniformBias, std: cfg.init_std };
    this.cAttn = new Linear(pb, `${prefix}.c_attn`, d, 3 * d, linear);
    // GPT-2 scales residual projections so the residual stream's variance stays put with depth.
    this.cProj = new Linear(pb, `${prefix}.c_proj`, d, d, { ...linear, std: cfg.residualStd });
  }

  /**
   * x [B,T,C] → [B,T,C]. When decoding, `ctx` supplies the cached keys and values: queries are
   * this forward's T positions, keys all Tk ≥ T so far, and query i sees keys j ≤ i + Tk − T.
   */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const nHead = this.cfg.n_head;
    // c_attn holds the q, k and v projections stacked [3C, C]; its blocks are used one by one.
    const [query, key, value] = this.cAttn.forwardSplit(x, 3); // [B,T,C]
    const { keys, values } = ctx.keysValues(key, value); // [B,Tk,C]
    let [q, k, v] = [query, keys, values].map((y) => ops.splitHeads(y, nHead)); // [B,H,·,D]
    if (this.cfg.positional === "rope") {
      // Cached keys are stored unrotated, so all of them are rotated from position 0.
      q = ops.rope(q, { offset: ctx.positionOffset, base: this.cfg.rope_base });
      k = ops.rope(k, { base: this.cfg.rope_base });
    }
    // ops.attention reports its probabilities to ctx's onAttention hook by itself.
    const y = ops.attention(q, k, v, { causal: true });
    return ctx.drop(this.cProj.forward(ops.mergeHeads(y)));
  }
}

/** The position-wise feed-forward network: Linear → GELU → Linear. */
export class MLP {
  readonly cFc: Linear;
  readonly cProj: Linear;

  constructor(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
    const linear = { bias: cfg.bias, uniformBias: cfg.uniformBias, std: cfg.init_std };
    this.cFc = new Linear(pb, `${prefix}.c_fc`, cfg.d_model, cfg.d_ffn, linear);
    this.cProj = new Linear(pb, `${prefix}.c_proj`, cfg.d_ffn, cfg.d_model, {
      ...linear,
      std: cfg.residualStd,
    });
  }

  /** x [B,T,C] → [B,T,C]. */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return ctx.drop(this.cProj.forward(ops.gelu(this.cFc.forward(x))));
  }
}

/** A pre-LN transformer block. */
export class Block {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;

  constructor(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
    const ln = { bias: cfg.bias, eps: cfg.ln_eps };
    this.ln1 = new LayerNorm(pb, `${prefix}.ln_1`, cfg.d_model, ln);
    this.attn = this.createAttention(pb, `${prefix}.attn`, cfg);
    this.ln2 = new LayerNorm(pb, `${prefix}.ln_2`, cfg.d_model, ln);
    this.mlp = new MLP(pb, `${prefix}.mlp`, cfg);
  }

  /**
   * The attention layer (called by the constructor, before subclass fields exist): override it
   * to try an attention variant; `GPT.forward` and the KV cache both run what it returns.
   */
  protected createAttention(
    pb: ParamBuilder,
    prefix: string,
    cfg: ResolvedConfig,
  ): CausalSelfAttention {
    return new CausalSelfAttention(pb, prefix, cfg);
  }

  /** x [B,T,C] → [B,T,C]. */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    x = ops.add(x, this.attn.forward(this.ln1.forward(x), ctx));
    return ops.add(x, this.mlp.forward(this.ln2.forward(x), ctx));
  }
}

/**
 * The GPT language model.
 *
 * @example
 * ```ts
 * const dev = await Device.open();
 * const gpt = new GPT(dev, { name: "gpt", vocab_size: 65, max_seq_len: 64, n_layer: 4, n_head: 4,
 *   d_model: 128, dropout: 0, bias: true, tie_embeddings: true, positional: "learned" }, { seed: 1 });
 * const { loss } = gpt.forward(ids, { targets });
 * loss!.backward();
 * ```
 */
export class GPT {
  readonly config: GPTConfig;
  readonly params: ParameterSet;
  readonly wte: Embedding;
  readonly wpe: Embedding | null;
  readonly h: Block[];
  readonly lnF: LayerNorm;
  readonly lmHead: Linear | null;
  private readonly resolved: ResolvedConfig;
  private readonly positionIds = new Map<number, Tensor>();

  constructor(readonly device: Device, cfg: GPTConfig, opts: { seed: number }) {
    this.config = cfg;
    const c = resolveConfig(cfg);
    this.resolved = c;
    const pb = new ParamBuilder(opts.seed);
    this.wte = new Embedding(pb, "wte", c.vocab_size, c.d_model, c.init_std);
    this.wpe = c.positional === "learned"
      ? new Embedding(pb, "wpe", c.max_seq_len, c.d_model, c.init_std)
      : null;
    this.h = Array.from({ length: c.n_layer }, (_, i) => this.createBlock(pb, `h.${i}`, c));
    this.lnF = new LayerNorm(pb, "ln_f", c.d_model, { bias: c.bias, eps: c.ln_eps });
    this.lmHead = c.tie_embeddings
      ? null
      : new Linear(pb, "lm_head", c.d_model, c.vocab_size, { bias: false, std: c.init_std });
    this.params = pb.build(device);
  }

  /**
   * Block `prefix` (`h.<i>`; called by the constructor, before subclass fields exist): override
   * it to try a block variant; training, evaluation and the KV cache all run what it returns.
   */
  protected createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    return new Block(pb, prefix, cfg);
  }

  /** Total number of parameters (a tied head counted once). */
  numParams(): number {
    return this.params.numel;
  }

  /** Training FLOPs per token at context `seqLen`: 6·N + 12·L·d·T (see {@link gptFlopsPerToken}). */
  flopsPerToken(seqLen: number): number {
    return gptFlopsPerToken(this.config, seqLen);
  }

  /** ids i32 [B,T] → loss (with targets) or logits [B,T,V]; optionally the residual stream. */
  forward(ids: Tensor, opts: ForwardOptions = {}): ForwardResult {
    const [batch, seqLen] = ids.shape;
    const c = this.resolved;
    if (ids.shape.length !== 2 || ids.dtype !== "i32") {
      throw new UserError(`GPT.forward: ids must be i32 [B,T], got ${ids.dtype} [${ids.shape}]`);
    }
    const targetShape = opts.targets?.shape;
    if (targetShape && (targetShape.join() !== ids.shape.join() || opts.targets!.dtype !== "i32")) {
      throw new UserError(
        `GPT.forward: targets must be i32 [${ids.shape}] like ids, got ${
          opts.targets!.dtype
        } [${targetShape}]`,
      );
    }
    const cache = opts.cache;
    const offset = cache?.filled ?? 0;
    if (offset + seqLen > c.max_seq_len) {
      throw new UserError(
        `GPT.forward: sequence length ${offset + seqLen} exceeds max_seq_len ${c.max_seq_len}`,
      );
    }
    if ((cache || opts.lastLogitsOnly) && batch !== 1) {
      throw new Error(`GPT.forward: a KV cache and lastLogitsOnly need batch 1, got ${batch}`);
    }
    if (cache && isGradEnabled()) {
      // The cache's views carry no tape: gradients would silently miss the cached keys.
      throw new Error("GPT.forward: a forward with a KV cache must run under noGrad");
    }
    if (opts.lastLogitsOnly && opts.targets) {
      throw new Error("GPT.forward: lastLogitsOnly gives no loss; leave out targets");
    }
    const ctx = new ForwardContext(opts.train ? c.dropout : 0, opts.dropoutSeed ?? 0, opts);
    const residuals: Tensor[] = [];

    let x = this.wte.forward(ids); // [B,T,C]
    if (this.wpe) x = ops.add(x, this.wpe.forward(this.positions(offset, seqLen))); // + [T,C]
    x = ctx.drop(x);
    if (opts.capture) residuals.push(x);
    x = ctx.observeBlocks(() => {
      let h = x;
      for (const [layer, block] of this.h.entries()) {
        ctx.layer = layer;
        const input = h;
        h = ctx.checkpoint(() => block.forward(input, ctx));
        if (opts.capture) residuals.push(h);
      }
      return h;
    });
    if (opts.lastLogitsOnly) {
      const last = x.view((seqLen - 1) * c.d_model, [1, 1, c.d_model]);
      x = last.bindable ? last : last.clone();
    }
    x = this.lnF.forward(x);
    const head = this.lmHead ? this.lmHead.weight.tensor : this.wte.weight.tensor;
    const logits = ops.linear(x, head); // [B,T,V]
    const out: ForwardResult = opts.capture ? { residuals } : {};
    if (!opts.targets) return { ...out, logits };
    const flat = logits.reshape([batch * seqLen, c.vocab_size]);
    return { ...out, loss: ops.crossEntropy(flat, opts.targets.reshape([batch * seqLen])) };
  }

  /** Position ids offset..offset+T-1 as an i32 tensor; those from 0 are made once per length. */
  private positions(offset: number, seqLen: number): Tensor {
    // Decoding positions are a fresh small tensor: a view into one table would bind at an offset
    // that GPUs need aligned to 256 bytes.
    if (offset > 0) {
      const ids = Int32Array.from({ length: seqLen }, (_, i) => offset + i);
      return Tensor.fromArray(this.device, ids, [seqLen], { dtype: "i32" });
    }
    let t = this.positionIds.get(seqLen);
    if (!t) {
      // A cache: it must survive the tidy scope of the evaluation that may first build it.
      t = untracked(() =>
        noGrad(() =>
          Tensor.fromArray(
            this.device,
            Int32Array.from({ length: seqLen }, (_, i) => i),
            [seqLen],
            {
              dtype: "i32",
            },
          )
        )
      );
      this.positionIds.set(seqLen, t);
    }
    return t;
  }
}
