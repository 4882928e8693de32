/**
 * Incremental decoding for {@link GPT}: the keys and values of every layer are kept on the GPU,
 * so each new token costs one position of work instead of a forward over the whole context.
 *
 * Layout: per layer one `[capacity, d_model]` buffer for keys and one for values, position-major
 * — exactly the `[T, C]` rows that the fused QKV projection produces. Appending t new positions
 * is therefore one contiguous `copyBufferToBuffer`, and the first `length` positions are a
 * contiguous view that `splitHeads` turns into the `[1, H, length, D]` the fused attention reads
 * (its KV-cache rule lets the t queries sit at the end of the keys). RoPE is applied to the
 * cached keys after the split (positions 0…length−1), so what is stored is position-free.
 *
 * Every intermediate tensor is released as soon as its consumer is recorded: a long generation
 * holds only the cache and one step's activations.
 *
 * @module
 */

import { ops } from "../tensor/ops.ts";
import { noGrad, Tensor } from "../tensor/tensor.ts";
import type { Block, GPT } from "./gpt.ts";
import { resolveConfig, type ResolvedConfig } from "./gpt_config.ts";

/** Options of {@link KVCache.forward}. */
export interface CachedForwardOptions {
  /** Logits of every new position ([t, V]) instead of only the last one ([1, V]). */
  allLogits?: boolean;
  /**
   * Receives the attention probabilities `[1, H, t, length]` of each layer, materialised with
   * unfused ops (scores, causal mask, softmax). The callee owns (and must release) the tensor.
   */
  onAttention?: (layer: number, probs: Tensor) => void;
}

/**
 * The per-layer key/value cache of one sequence (batch 1) of a GPT.
 *
 * @example
 * ```ts
 * const cache = new KVCache(gpt);
 * let logits = cache.forward(promptIds);          // [1, V] for the last prompt position
 * logits = cache.forward([nextId]);               // one more position, attending to all before
 * cache.release();
 * ```
 */
export class KVCache {
  /** Positions the cache can hold (the model's context by default). */
  readonly capacity: number;
  private readonly cfg: ResolvedConfig;
  private readonly keys: Tensor[];
  private readonly values: Tensor[];
  private filled = 0;

  constructor(readonly model: GPT, capacity = model.config.max_seq_len) {
    this.cfg = resolveConfig(model.config);
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= this.cfg.max_seq_len)) {
      throw new Error(`KVCache: capacity ${capacity} must be in 1..${this.cfg.max_seq_len}`);
    }
    this.capacity = capacity;
    const shape = [capacity, this.cfg.d_model];
    this.keys = model.h.map(() => Tensor.empty(model.device, shape));
    this.values = model.h.map(() => Tensor.empty(model.device, shape));
  }

  /** Positions cached so far. */
  get length(): number {
    return this.filled;
  }

  /** Forgets the cached positions (the buffers are kept). */
  reset(): void {
    this.filled = 0;
  }

  /** Frees the cache's GPU buffers. */
  release(): void {
    for (const t of [...this.keys, ...this.values]) t.release();
  }

  /**
   * Runs `ids` (t new tokens, following the cached ones) through the model, appends their keys
   * and values, and returns f32 logits `[1, V]` of the last new position (or `[t, V]`).
   */
  forward(ids: ArrayLike<number>, opts: CachedForwardOptions = {}): Tensor {
    const t = ids.length;
    if (t === 0) throw new Error("KVCache.forward: no tokens");
    if (this.filled + t > this.capacity) {
      throw new Error(
        `KVCache.forward: ${this.filled} cached + ${t} new positions exceed capacity ${this.capacity}`,
      );
    }
    return noGrad(() => {
      const model = this.model;
      const dev = model.device;
      const C = this.cfg.d_model;
      const idTensor = Tensor.fromArray(dev, ids, [1, t], { dtype: "i32" });
      let x = model.wte.forward(idTensor); // [1,t,C]
      idTensor.release();
      if (model.wpe) {
        const positions = Int32Array.from({ length: t }, (_, i) => this.filled + i);
        const pos = Tensor.fromArray(dev, positions, [t], { dtype: "i32" });
        const pe = model.wpe.forward(pos);
        x = consume(ops.add(x, pe), x, pe, pos);
      }
      model.h.forEach((block, layer) => {
        x = this.block(block, layer, x, opts);
      });
      this.filled += t;
      const last = opts.allLogits ? x : x.view((t - 1) * C, [1, 1, C]);
      const normed = model.lnF.forward(last);
      if (last !== x) last.release();
      x.release();
      const head = model.lmHead ? model.lmHead.weight.tensor : model.wte.weight.tensor;
      const logits = consume(ops.linear(normed, head), normed);
      return consume(logits.reshape([opts.allLogits ? t : 1, this.cfg.vocab_size]), logits);
    });
  }

  /** One pre-LN block over the new positions; releases `x` and returns the new residual. */
  private block(block: Block, layer: number, x: Tensor, opts: CachedForwardOptions): Tensor {
    const { n_head: nHead, d_model: C } = this.cfg;
    const t = x.shape[1];
    const total = this.filled + t;
    const h = block.ln1.forward(x);
    const [q, k, v] = block.attn.cAttn.forwardSplit(h, 3); // each [1,t,C]
    h.release();
    this.append(this.keys[layer], k);
    this.append(this.values[layer], v);
    k.release();
    v.release();
    const keysView = this.keys[layer].view(0, [1, total, C]);
    const valuesView = this.values[layer].view(0, [1, total, C]);
    let qh = consume(ops.splitHeads(q, nHead), q); // [1,H,t,D]
    let kh = consume(ops.splitHeads(keysView, nHead), keysView); // [1,H,total,D]
    const vh = consume(ops.splitHeads(valuesView, nHead), valuesView);
    if (this.cfg.positional === "rope") {
      qh = consume(ops.rope(qh, { offset: this.filled, base: this.cfg.rope_base }), qh);
      kh = consume(ops.rope(kh, { offset: 0, base: this.cfg.rope_base }), kh);
    }
    if (opts.onAttention) opts.onAttention(layer, attentionProbabilities(qh, kh));
    const y = ops.attention(qh, kh, vh, { causal: true });
    for (const u of [qh, kh, vh]) u.release();
    const merged = consume(ops.mergeHeads(y), y);
    const attnOut = consume(block.attn.cProj.forward(merged), merged);
    const x1 = consume(ops.add(x, attnOut), x, attnOut);
    const h2 = block.ln2.forward(x1);
    const hidden = consume(block.mlp.cFc.forward(h2), h2);
    const act = consume(ops.gelu(hidden), hidden);
    const mlpOut = consume(block.mlp.cProj.forward(act), act);
    return consume(ops.add(x1, mlpOut), x1, mlpOut);
  }

  /** Records the copy of `rows` ([1,t,C]) into `cache` at row `filled` (in order with the ops). */
  private append(cache: Tensor, rows: Tensor): void {
    const dev = this.model.device;
    const rowBytes = this.cfg.d_model * 4;
    dev.recorder.copyEncoder().copyBufferToBuffer(
      rows.buffer,
      rows.byteOffset,
      cache.buffer,
      cache.byteOffset + this.filled * rowBytes,
      rows.size * 4,
    );
  }
}

/**
 * softmax(q kᵀ / √D) with the causal (KV-cache) mask, from unfused ops: q [B,H,Tq,D],
 * k [B,H,Tk,D] → [B,H,Tq,Tk]. This is the matrix the fused attention never stores.
 */
export function attentionProbabilities(q: Tensor, k: Tensor): Tensor {
  return noGrad(() => {
    const D = q.shape[q.shape.length - 1];
    const raw = ops.matmul(q, k, { transB: true });
    const scores = consume(ops.scale(raw, 1 / Math.sqrt(D)), raw);
    const masked = consume(ops.causalMask(scores), scores);
    return consume(ops.softmax(masked), masked);
  });
}

/** Returns `result` after releasing the tensors it was computed from. */
function consume(result: Tensor, ...inputs: Tensor[]): Tensor {
  for (const t of inputs) t.release();
  return result;
}
