/**
 * Will the model fit? Estimated from the config alone, before a parameter is initialised: the
 * initial values are built on the CPU first, so a model that cannot fit would otherwise spend
 * minutes (and gigabytes) before the first allocation fails. Two checks: the whole training
 * footprint against memory, and each large buffer against the adapter's binding and buffer limits.
 *
 * @module
 */

import type { ModelConfig } from "../config/schema.ts";
import type { GPTConfig } from "../nn/gpt.ts";
import { countGptParams, resolveConfig } from "../nn/gpt_config.ts";
import { UserError } from "../util/errors.ts";

/** Bytes a training run needs, from shapes alone. */
export interface TrainingFootprint {
  params: number;
  /** Parameters, gradients and AdamW's m and v (four f32 copies). */
  parameterBytes: number;
  /** Activations kept for backward, about (16·d + 2·d_ffn) floats per token and layer + logits. */
  activationBytes: number;
  /** The largest single activation tensor and its name. */
  largest: { name: string; bytes: number };
}

/** Estimates what training `model` at `batchSize × seqLen` tokens per micro-batch needs. */
export function trainingFootprint(
  model: ModelConfig,
  batchSize: number,
  seqLen: number,
): TrainingFootprint {
  const c = resolveConfig(model as unknown as GPTConfig);
  const params = countGptParams(model as unknown as GPTConfig);
  const tokens = batchSize * seqLen;
  const perToken = c.n_layer * (16 * c.d_model + 2 * c.d_ffn) + 2 * c.vocab_size;
  const tensors = [
    { name: "logits [batch·seq, vocab_size]", bytes: 4 * tokens * c.vocab_size },
    { name: "MLP hidden [batch·seq, d_ffn]", bytes: 4 * tokens * c.d_ffn },
    { name: "q/k/v [batch·seq, 3·d_model]", bytes: 4 * tokens * 3 * c.d_model },
  ];
  const largest = tensors.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return { params, parameterBytes: 16 * params, activationBytes: 4 * tokens * perToken, largest };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 3 : 1)} GiB`;
}

/**
 * Throws a UserError when the footprint exceeds `memoryBytes` (WebGPU does not report a device's
 * memory; the host's total memory is the bound callers pass, which is exact for software and
 * unified-memory adapters and an upper bound that still catches typos elsewhere).
 */
export function checkFootprintFitsMemory(f: TrainingFootprint, memoryBytes: number): void {
  const total = f.parameterBytes + f.activationBytes;
  if (total > memoryBytes) {
    throw new UserError(
      `model: ${f.params.toExponential(2)} parameters need about ${gib(total)} to train ` +
        `(${gib(f.parameterBytes)} weights, gradients and AdamW state + ${
          gib(f.activationBytes)
        } ` +
        `activations), more than the ${gib(memoryBytes)} of memory here; lower model.d_model, ` +
        `model.n_layer or training.batch_size`,
    );
  }
}

/**
 * Throws a UserError naming the limit when the flat parameter buffer or the largest activation
 * exceeds the adapter's `maxStorageBufferBindingSize` / `maxBufferSize`.
 */
export function checkFootprintFitsDevice(
  f: TrainingFootprint,
  limits: Readonly<Record<string, number>>,
): void {
  const binding = Math.min(
    limits.maxStorageBufferBindingSize ?? Infinity,
    limits.maxBufferSize ?? Infinity,
  );
  const flat = 4 * f.params;
  if (flat > binding) {
    throw new UserError(
      `model: the ${f.params} parameters need one buffer of ${flat} bytes, more than this ` +
        `adapter's maxStorageBufferBindingSize/maxBufferSize (${binding} bytes); use a smaller model`,
    );
  }
  if (f.largest.bytes > binding) {
    throw new UserError(
      `model: the ${f.largest.name} activation needs ${f.largest.bytes} bytes, more than this ` +
        `adapter's maxStorageBufferBindingSize/maxBufferSize (${binding} bytes); lower ` +
        `training.batch_size or the model size`,
    );
  }
}

/** The host's total memory in bytes (Infinity where the runtime cannot tell). */
export function hostMemoryBytes(): number {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return Infinity;
  }
}
