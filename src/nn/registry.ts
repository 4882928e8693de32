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

import type { z } from "../deps.ts";
import { registerModelSchema } from "../config/extensions.ts";
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

/** Options of {@link registerModel}. */
export interface RegisterModelOptions {
  /**
   * The model's own `model.*` keys (a zod object): validated and defaulted with the built-in
   * keys, overridable as `model.key=value` and sweepable. A key named like a built-in one is a
   * UserError.
   */
  configSchema?: z.ZodObject;
}

/**
 * Registers an architecture under `name`. Registering a name twice (with another factory) is a
 * UserError: two plugins that both define `relu_gpt` should not silently shadow each other.
 *
 * @example
 * ```ts
 * registerModel("relu_gpt", (dev, cfg, o) => new ReluGPT(dev, cfg, o), {
 *   configSchema: z.object({ inject_relu: z.boolean().default(false) }),
 * });
 * ```
 */
export function registerModel(
  name: string,
  factory: ModelFactory,
  opts: RegisterModelOptions = {},
): void {
  const previous = factories.get(name);
  if (previous !== undefined && previous !== factory) {
    throw new UserError(`registerModel: model "${name}" is already registered`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new UserError(`registerModel: "${name}": use letters, digits, '.', '_' and '-' only`);
  }
  if (opts.configSchema) registerModelSchema(name, opts.configSchema);
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
