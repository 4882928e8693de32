/**
 * Incremental decoding for {@link GPT}: the keys and values of every layer are kept on the GPU,
 * so each new token costs one position of work instead of a forward over the whole context.
 *
 * The cache holds no model maths: {@link KVCache.forward} runs `GPT.forward(ids, { cache })`, so
 * the blocks' own `forward` code (whatever a researcher changed in it) computes the new
 * positions; each attention layer hands its new keys and values to {@link KVCache.append} and
 * attends over what it returns.
 *
 * Layout: per layer one `[capacity, d_model]` buffer for keys and one for values, position-major
 * — exactly the `[T, C]` rows that the fused QKV projection produces. Appending t new positions
 * is therefore one contiguous `copyBufferToBuffer`, and the first `length` positions are a
 * contiguous view that `splitHeads` turns into the `[1, H, length, D]` the fused attention reads
 * (its KV-cache rule lets the t queries sit at the end of the keys). Keys are stored before RoPE,
 * so what is stored is position-free.
 *
 * Each forward runs in `tidy`: a long generation holds only the cache and one step's activations.
 *
 * @module
 */

import { noGrad, Tensor, tidy, untracked } from "../tensor/tensor.ts";
import type { AttentionCache, GPT } from "./gpt.ts";

export { attentionProbabilities } from "./gpt.ts";

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
export class KVCache implements AttentionCache {
  /** Positions the cache can hold (the model's context by default). */
  readonly capacity: number;
  private readonly dModel: number;
  private readonly keys: Tensor[];
  private readonly values: Tensor[];
  #filled = 0;

  constructor(readonly model: GPT, capacity = model.config.max_seq_len) {
    const maxLen = model.config.max_seq_len;
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= maxLen)) {
      throw new Error(`KVCache: capacity ${capacity} must be in 1..${maxLen}`);
    }
    this.capacity = capacity;
    this.dModel = model.config.d_model;
    const shape = [capacity, this.dModel];
    // The buffers outlive any tidy scope the cache is made in.
    this.keys = untracked(() => model.h.map(() => Tensor.empty(model.device, shape)));
    this.values = untracked(() => model.h.map(() => Tensor.empty(model.device, shape)));
  }

  /** Positions cached so far. */
  get filled(): number {
    return this.#filled;
  }

  /** Positions cached so far (same as {@link filled}). */
  get length(): number {
    return this.#filled;
  }

  /** Forgets the cached positions (the buffers are kept). */
  reset(): void {
    this.#filled = 0;
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
    if (this.#filled + t > this.capacity) {
      throw new Error(
        `KVCache.forward: ${this.#filled} cached + ${t} new positions exceed capacity ${this.capacity}`,
      );
    }
    const model = this.model;
    const logits = tidy(() =>
      noGrad(() => {
        const input = Tensor.fromArray(model.device, ids, [1, t], { dtype: "i32" });
        const { logits } = model.forward(input, {
          cache: this,
          lastLogitsOnly: !opts.allLogits,
          onAttention: opts.onAttention,
        });
        return logits!.reshape([opts.allLogits ? t : 1, model.config.vocab_size]);
      })
    );
    this.#filled += t;
    return logits;
  }

  /**
   * Records the copy of one layer's new keys and values (`[1,t,C]`) into rows filled…filled+t−1
   * (in order with the ops) and returns views of every cached row, `[1, filled + t, C]`.
   */
  append(layer: number, keys: Tensor, values: Tensor): { keys: Tensor; values: Tensor } {
    const t = keys.shape[1];
    const total = this.#filled + t;
    if (total > this.capacity) {
      throw new Error(`KVCache.append: ${total} positions exceed capacity ${this.capacity}`);
    }
    this.copyRows(this.keys[layer], keys);
    this.copyRows(this.values[layer], values);
    const shape = [1, total, this.dModel];
    return { keys: this.keys[layer].view(0, shape), values: this.values[layer].view(0, shape) };
  }

  private copyRows(cache: Tensor, rows: Tensor): void {
    if (rows.shape.length !== 3 || rows.shape[0] !== 1 || rows.shape[2] !== this.dModel) {
      throw new Error(`KVCache.append: rows must be [1,t,${this.dModel}], got [${rows.shape}]`);
    }
    const rowBytes = this.dModel * 4;
    this.model.device.recorder.copyEncoder().copyBufferToBuffer(
      rows.buffer,
      rows.byteOffset,
      cache.buffer,
      cache.byteOffset + this.#filled * rowBytes,
      rows.size * 4,
    );
  }
}
