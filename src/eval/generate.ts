/**
 * Autoregressive generation: prefill the prompt into a {@link KVCache}, then one position per
 * new token; or, for comparison, a full forward over the whole window per token (nanoGPT's
 * `generate`). Sampling (greedy, temperature, top-k, top-p) happens on the CPU from one row of
 * logits per token.
 *
 * @module
 */

import type { GPT } from "../nn/gpt.ts";
import { KVCache } from "../nn/kv_cache.ts";
import { beamSearch } from "./beam.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import type { ChatModel } from "./chat.ts";
import { checkIdsInVocab, type TextCodec } from "./codec.ts";
import { TextStream } from "./text_stream.ts";
import { sampleToken, type SamplingOptions, SamplingRng, validateSampling } from "./sampling.ts";

/** Options of {@link generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** New tokens to produce at most. */
  maxNewTokens: number;
  /** Seed of the sampling RNG (same seed, same prompt → same tokens). Default: random. */
  seed?: number;
  /** Use the KV cache (default true); false recomputes the whole window for every token. */
  useCache?: boolean;
  /** Stop after producing this id (it is not included in the result). */
  stopId?: number | null;
  /** Called with each new id as soon as it is chosen (streaming output). */
  onToken?: (id: number) => void;
  /**
   * Beam search with this many beams instead of sampling (temperature, top-k/p and seed are then
   * unused; `onToken` hears the ids once the search ends). 1 is greedy.
   */
  beams?: number;
}

/** What {@link generate} produced. */
export interface GenerateResult {
  /** The new ids (without the prompt, without the stop id). */
  ids: number[];
  /** Prompt tokens dropped from the left because the prompt was longer than the context. */
  droppedPromptTokens: number;
  /** True when generation ended at `stopId`. */
  stopped: boolean;
  /** Σ log-probability of the new tokens (beam search only). */
  logProb?: number;
}

/**
 * Continues `promptIds` with up to `maxNewTokens` tokens. A prompt longer than the model's
 * context keeps its last `max_seq_len` tokens (reported in `droppedPromptTokens`); once the
 * window is full, the cache is refilled with the newest three quarters of the context.
 *
 * @example
 * ```ts
 * const { ids } = await generate(gpt, codec.encode("ROMEO:"), {
 *   maxNewTokens: 100, temperature: 0.8, topK: 40, seed: 1,
 * });
 * console.log(codec.decode(ids));
 * ```
 */
export async function generate(
  model: GPT,
  promptIds: readonly number[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const sampling = validateSampling({
    temperature: opts.temperature,
    topK: opts.topK,
    topP: opts.topP,
  });
  if (promptIds.length === 0) throw new UserError("the prompt is empty (no tokens to start from)");
  checkIdsInVocab(promptIds, model.config.vocab_size);
  const context = model.config.max_seq_len;
  const dropped = Math.max(0, promptIds.length - context);
  const tokens = promptIds.slice(dropped);
  if (opts.beams !== undefined) {
    const found = await beamSearch(model, tokens, {
      beams: opts.beams,
      maxNewTokens: opts.maxNewTokens,
      stopId: opts.stopId,
    });
    found.ids.forEach((id) => opts.onToken?.(id));
    return { ...found, droppedPromptTokens: dropped };
  }
  const rng = new SamplingRng(opts.seed ?? (Math.random() * 2 ** 32) >>> 0);
  const next = opts.useCache === false ? recomputingStepper(model) : cachedStepper(model);
  const out: number[] = [];
  let stopped = false;
  try {
    let logits = await next(tokens, tokens.length);
    while (out.length < opts.maxNewTokens) {
      const id = sampleToken(logits, sampling, rng);
      if (id === opts.stopId) {
        stopped = true;
        break;
      }
      out.push(id);
      tokens.push(id);
      opts.onToken?.(id);
      if (out.length === opts.maxNewTokens) break;
      logits = await next(tokens, 1);
    }
  } finally {
    next.release();
  }
  return { ids: out, droppedPromptTokens: dropped, stopped };
}

/** Gives the last position's logits after `fresh` new tokens at the end of `tokens`. */
interface Stepper {
  (tokens: readonly number[], fresh: number): Promise<Float32Array>;
  release(): void;
}

/** f32 values of the last row of logits [.., T, V] (releases `logits`). */
async function lastRow(logits: Tensor): Promise<Float32Array> {
  const V = logits.shape[logits.shape.length - 1];
  const last = logits.view(logits.size - V, [V]);
  const values = await last.toArray() as Float32Array;
  last.release();
  logits.release();
  return values;
}

function cachedStepper(model: GPT): Stepper {
  const cache = new KVCache(model);
  const capacity = cache.capacity;
  const keep = Math.max(1, capacity - Math.max(1, Math.floor(capacity / 4)));
  const step = (tokens: readonly number[], fresh: number): Promise<Float32Array> => {
    let feed = tokens.slice(tokens.length - fresh);
    if (cache.length + fresh > capacity) {
      cache.reset(); // refill with the newest part of the window
      feed = tokens.slice(-Math.min(keep, tokens.length));
    }
    return lastRow(cache.forward(feed));
  };
  return Object.assign(step, { release: () => cache.release() });
}

function recomputingStepper(model: GPT): Stepper {
  const context = model.config.max_seq_len;
  const step = (tokens: readonly number[]): Promise<Float32Array> => {
    const window = tokens.slice(-context);
    // A forward without the tape leaves its intermediates to the caller: release them.
    const logits = tidy(() =>
      noGrad(() => {
        const ids = Tensor.fromArray(model.device, window, [1, window.length], { dtype: "i32" });
        // Only the last position's logits, as nanoGPT's generate does.
        return model.forward(ids, { lastLogitsOnly: true }).logits!;
      })
    );
    return lastRow(logits);
  };
  return Object.assign(step, { release: () => {} });
}

/**
 * The model side of `validate --chat`: each prompt is appended to the conversation so far and
 * continued; `reset` forgets the conversation.
 */
export function chatModel(
  model: GPT,
  codec: TextCodec,
  opts: { maxNewTokens: number; seed?: number; warn?: (message: string) => void },
): ChatModel {
  let history: number[] = [];
  let turn = 0;
  return {
    async complete(
      prompt: string,
      sampling: SamplingOptions,
      write?: (text: string) => void,
    ): Promise<string> {
      const ids = [...history, ...codec.encode(prompt)];
      const stream = write ? new TextStream(codec, ids, write, false) : null;
      const result = await generate(model, ids, {
        ...sampling,
        maxNewTokens: opts.maxNewTokens,
        seed: opts.seed === undefined ? undefined : opts.seed + turn++,
        stopId: codec.endId,
        onToken: stream ? (id) => stream.push(id) : undefined,
      });
      stream?.finish("");
      if (result.droppedPromptTokens > 0) {
        opts.warn?.(`(conversation longer than the context: kept its last part)`);
      }
      history = [...ids, ...result.ids].slice(-model.config.max_seq_len);
      return codec.decode(result.ids);
    },
    reset(): void {
      history = [];
    },
  };
}
