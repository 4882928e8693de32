/**
 * The model registry: a config's `model.name` picks the architecture. Adding one means writing a
 * module that calls `registerModel` and importing it from `models_all.ts` (or, in a script,
 * before `train()`); a failed lookup lists the names. The
 * trainer (`createModel`) and the evaluation loader (`createGpt`) both build models through it.
 * A GPT variant is a `GPT` subclass overriding `createBlock` (or a `Block` overriding
 * `createAttention` / `forward`): training, evaluation and the KV cache all run its code.
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
  /** The `model` section it was built from (GPT's shape keys; `name` picked it). */
  readonly config: GPTConfig;
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

/** Throws the one-line UserError listing the known names unless `name` is registered. */
export function checkModelName(name: string): void {
  if (!factories.has(name)) {
    throw new UserError(`model.name: unknown model "${name}"; known: ${modelNames().join(", ")}`);
  }
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
  checkModelName(cfg.name);
  return factories.get(cfg.name)!(dev, cfg, opts);
}

/**
 * Builds the model a config names when it is a {@link GPT} (or a subclass): what evaluation
 * needs for the KV cache, attention maps and the residual stream. Anything else is a UserError.
 */
export function createGpt(dev: Device, cfg: { name: string }, opts: { seed: number }): GPT {
  const model = createModel(dev, cfg, opts);
  if (!(model instanceof GPT)) {
    dev.flush(); // the parameters' initial upload is recorded, not yet submitted
    model.params.destroy();
    throw new UserError(
      `model.name: "${cfg.name}" is not a GPT (or subclass); evaluation decodes with GPT's KV cache`,
    );
  }
  return model;
}
