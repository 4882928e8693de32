/**
 * The model registry: a config's `model.name` picks the architecture. Adding one means writing a
 * module that calls `registerModel` and importing it here; a failed lookup lists the names.
 *
 * @module
 */

import type { Device } from "../gpu/device.ts";
import type { ParameterSet } from "../tensor/parameters.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import { type ForwardOptions, type ForwardResult, GPT, type GPTConfig } from "./gpt.ts";

/** What the trainer, evaluator and probe need from a language model. */
export interface LanguageModel {
  readonly config: { name: string; vocab_size: number; max_seq_len: number };
  readonly params: ParameterSet;
  numParams(): number;
  flopsPerToken(seqLen: number): number;
  forward(ids: Tensor, opts?: ForwardOptions): ForwardResult;
}

/** Builds a model from its config section. */
export type ModelFactory = (
  dev: Device,
  // deno-lint-ignore no-explicit-any
  cfg: any,
  opts: { seed: number },
) => LanguageModel;

const factories = new Map<string, ModelFactory>([
  ["gpt", (dev, cfg: GPTConfig, opts) => new GPT(dev, cfg, opts)],
]);

/** Registers an architecture under `name` (a later registration of the same name replaces it). */
export function registerModel(name: string, factory: ModelFactory): void {
  factories.set(name, factory);
}

/** Names of the registered architectures. */
export function modelNames(): string[] {
  return [...factories.keys()].sort();
}

/**
 * Builds the model a config names.
 *
 * @example
 * ```ts
 * const model = createModel(dev, cfg.model, { seed: cfg.seed });
 * ```
 */
export function createModel(
  dev: Device,
  cfg: { name: string },
  opts: { seed: number },
): LanguageModel {
  const factory = factories.get(cfg.name);
  if (!factory) {
    throw new UserError(
      `model.name: unknown model "${cfg.name}"; known: ${modelNames().join(", ")}`,
    );
  }
  return factory(dev, cfg, opts);
}
