/**
 * Decoding with an encoder–decoder: the source is encoded and every decoder layer's
 * cross-attention keys and values are projected once per source; the decoder's self-attention
 * keeps a KV cache, so each new token costs one position of decoder work. The model's own
 * `decode` runs every step (the cache only stores and hands back keys and values), so what is
 * decoded is what training computed — `validate --verify` compares the two.
 *
 * @module
 */

import { noGrad, Tensor, tidy, untracked } from "../tensor/tensor.ts";
import type { CrossMemory, EncoderDecoder } from "./encdec.ts";
import { type AttentionCache, ForwardContext } from "./gpt.ts";

/** The decoder's self-attention keys and values of one sequence, `[capacity, C]` per layer. */
class DecoderCache implements AttentionCache {
  private readonly keys: Tensor[];
  private readonly values: Tensor[];
  filled = 0;

  constructor(private readonly model: EncoderDecoder, readonly capacity: number) {
    const shape = [capacity, model.resolved.d_model];
    this.keys = untracked(() => model.decoder.map(() => Tensor.empty(model.device, shape)));
    this.values = untracked(() => model.decoder.map(() => Tensor.empty(model.device, shape)));
  }

  append(layer: number, keys: Tensor, values: Tensor): { keys: Tensor; values: Tensor } {
    const t = keys.shape[1];
    const total = this.filled + t;
    if (total > this.capacity) {
      throw new Error(`DecoderCache.append: ${total} positions exceed capacity ${this.capacity}`);
    }
    this.copyRows(this.keys[layer], keys);
    this.copyRows(this.values[layer], values);
    const shape = [1, total, this.model.resolved.d_model];
    return { keys: this.keys[layer].view(0, shape), values: this.values[layer].view(0, shape) };
  }

  release(): void {
    for (const t of [...this.keys, ...this.values]) t.release();
  }

  private copyRows(cache: Tensor, rows: Tensor): void {
    const rowBytes = this.model.resolved.d_model * 4;
    this.model.device.recorder.copyEncoder().copyBufferToBuffer(
      rows.buffer,
      rows.byteOffset,
      cache.buffer,
      cache.byteOffset + this.filled * rowBytes,
      rows.size * 4,
    );
  }
}

/**
 * One source being decoded: its cross-attention memory (computed once) and the decoder's KV
 * cache.
 *
 * @example
 * ```ts
 * const session = new EncDecSession(model, sourceIds); // padded to source_len
 * let logits = session.forward([bosId]);              // [1, V]
 * logits = session.forward([nextId]);
 * session.release();
 * ```
 */
export class EncDecSession {
  private readonly memories: CrossMemory[];
  private readonly held: Tensor[];
  private readonly cache: DecoderCache;

  constructor(readonly model: EncoderDecoder, sourceIds: ArrayLike<number>) {
    const c = model.resolved;
    if (sourceIds.length !== c.sourceLen) {
      throw new Error(`EncDecSession: source of ${sourceIds.length} ids, expected ${c.sourceLen}`);
    }
    const { memories, held } = untracked(() =>
      tidy(() =>
        noGrad(() => {
          const ids = Tensor.fromArray(model.device, sourceIds, [1, c.sourceLen], { dtype: "i32" });
          const scratch: Tensor[] = [];
          const encoded = model.encode(ids, new ForwardContext(0, 0), scratch);
          const memories = model.projectMemory(encoded);
          const held = memories.flatMap((m) => [m.keys, m.values]);
          if (encoded.keyMask) held.push(encoded.keyMask);
          return { memories, held };
        })
      )
    );
    this.memories = memories;
    this.held = held;
    this.cache = new DecoderCache(model, c.targetLen);
  }

  /** Decoder positions decoded so far. */
  get length(): number {
    return this.cache.filled;
  }

  /**
   * Runs decoder ids (t new tokens after the cached ones) and returns f32 logits `[1, V]` of the
   * last (or `[t, V]` of all with `allLogits`).
   */
  forward(ids: ArrayLike<number>, opts: { allLogits?: boolean } = {}): Tensor {
    const t = ids.length;
    const model = this.model;
    const V = model.resolved.vocab_size;
    if (t === 0 || this.cache.filled + t > this.cache.capacity) {
      throw new Error(
        `EncDecSession.forward: ${this.cache.filled} cached + ${t} new positions; capacity ` +
          `${this.cache.capacity}`,
      );
    }
    const logits = tidy(() =>
      noGrad(() => {
        const input = Tensor.fromArray(model.device, ids, [1, t], { dtype: "i32" });
        const ctx = new ForwardContext(0, 0, { cache: this.cache });
        const out = model.decode(input, this.memories, ctx, {
          offset: this.cache.filled,
          lastLogitsOnly: !opts.allLogits,
        });
        return out.reshape([opts.allLogits ? t : 1, V]);
      })
    );
    this.cache.filled += t;
    return logits;
  }

  /** Frees the memory and the cache. */
  release(): void {
    for (const t of this.held) t.release();
    this.cache.release();
  }
}

/** Index of the largest value. */
function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Greedy decoding of one source (padded to source_len) from BOS until `stopId` or
 * `maxNewTokens`; returns the generated ids (the stop id not included) and whether it stopped.
 */
export async function generateEncDec(
  model: EncoderDecoder,
  sourceIds: ArrayLike<number>,
  opts: { bosId: number; stopId: number | null; maxNewTokens: number },
): Promise<{ ids: number[]; stopped: boolean }> {
  const session = new EncDecSession(model, sourceIds);
  const out: number[] = [];
  try {
    let next = opts.bosId;
    const limit = Math.min(opts.maxNewTokens, model.resolved.targetLen);
    for (let i = 0; i < limit; i++) {
      const logits = session.forward([next]);
      next = argmax(await logits.toArray() as Float32Array);
      logits.release();
      if (next === opts.stopId) return { ids: out, stopped: true };
      out.push(next);
    }
    return { ids: out, stopped: false };
  } finally {
    session.release();
  }
}
