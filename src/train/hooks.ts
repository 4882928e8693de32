/**
 * Training hooks: code a plugin (or a script) runs inside kiln's training loop without editing it.
 * `registerTrainingHooks` adds hooks for every later `train()`; `TrainOptions.hooks` adds hooks for
 * one run. Each hook gets a {@link HookContext} whose `rng` is seeded by (seed, step) or, for
 * `transformBatch`, by (seed, micro-batch index), so a resumed run replays exactly what the
 * uninterrupted one did.
 *
 * @module
 */

import type { ResolvedConfig } from "../config/schema.ts";
import type { Batch } from "../data/batch.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { UserError } from "../util/errors.ts";
import { hashInts, Mulberry32 } from "../util/random.ts";

/** A seeded random stream handed to hooks. */
export class HookRng {
  readonly #gen: Mulberry32;

  /** A stream fixed by the integers `key` (seed, hook kind, step or batch index). */
  constructor(key: readonly number[]) {
    this.#gen = new Mulberry32(hashInts(key));
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#gen.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#gen.next() * n);
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.#gen.next() < p;
  }
}

/** What every hook is given. */
export interface HookContext {
  /**
   * Optimizer steps completed so far: the 0-based index of the step about to run in `beforeStep`
   * and `transformBatch`, the 1-based number of the step just done in `afterStep` and `metrics`.
   */
  step: number;
  /** The model being trained (`model.params.setTrainable` freezes parameters). */
  model: LanguageModel;
  /**
   * The resolved config (its model sizes are numbers, never "auto"); plugin settings live in
   * `config.training.extra` and `config.model`.
   */
  config: ResolvedConfig;
  /** Seeded by (seed, step) — by (seed, micro-batch index) in `transformBatch`. */
  rng: HookRng;
}

/** `transformBatch`'s context: the micro-batch index too. */
export interface BatchContext extends HookContext {
  /** Index of this micro-batch since the start of training (what the data source was asked). */
  batchIndex: number;
}

/** Hooks a plugin registers; every one is optional. */
export interface TrainingHooks {
  /** Before each optimizer step's first forward (freeze, schedule a setting, …). */
  beforeStep?(ctx: HookContext): void | Promise<void>;
  /**
   * Changes a micro-batch's inputs (never its targets) before upload; return the batch (or
   * nothing, having changed `batch.inputs` in place). Synchronous: it runs inside the step.
   */
  transformBatch?(batch: Batch, ctx: BatchContext): Batch | void;
  /** After each optimizer step (the update is recorded, not necessarily finished on the GPU). */
  afterStep?(ctx: HookContext): void | Promise<void>;
  /** Extra numbers for the train line of metrics.jsonl, at every `log_every` step. */
  metrics?(ctx: HookContext): Record<string, number> | Promise<Record<string, number>>;
}

const registered: TrainingHooks[] = [];

/**
 * Adds hooks to every later training run in this process (plugins call it at import time).
 * Returns a function that removes them again.
 *
 * @example
 * ```ts
 * registerTrainingHooks({
 *   metrics: async ({ model }) => ({ max_param: Math.max(...(await model.params.flat.toArray())) }),
 * });
 * ```
 */
export function registerTrainingHooks(hooks: TrainingHooks): () => void {
  const known = ["beforeStep", "transformBatch", "afterStep", "metrics"];
  for (const key of Object.keys(hooks)) {
    if (!known.includes(key)) {
      throw new UserError(
        `registerTrainingHooks: unknown hook "${key}" (hooks: ${known.join(", ")})`,
      );
    }
  }
  registered.push(hooks);
  return () => {
    const i = registered.indexOf(hooks);
    if (i >= 0) registered.splice(i, 1);
  };
}

// Salts keep the streams of different hook kinds apart at the same step.
const SALT = { beforeStep: 1, transformBatch: 2, afterStep: 3, metrics: 4 } as const;

/** Keys of the built-in train line, which a metrics hook may not overwrite. */
const TRAIN_KEYS = new Set([
  "type",
  "step",
  "tokens",
  "flops",
  "elapsed_s",
  "loss",
  "lr",
  "grad_norm",
  "tokens_per_s",
  "step_ms",
  "gpu_bytes",
  "clip",
  "loss_ce",
  "loss_acc",
  "tf_ratio",
  "gpu_peak_bytes",
]);

/** The hooks of one run, called by the trainer at its few call sites. */
export class HookRunner {
  readonly #hooks: TrainingHooks[];

  constructor(
    extra: readonly TrainingHooks[],
    private readonly model: LanguageModel,
    private readonly config: ResolvedConfig,
  ) {
    this.#hooks = [...registered, ...extra];
  }

  #ctx(step: number, kind: keyof typeof SALT): HookContext {
    const rng = new HookRng([this.config.seed, SALT[kind], step]);
    return { step, model: this.model, config: this.config, rng };
  }

  /** Runs every `beforeStep`. */
  async beforeStep(step: number): Promise<void> {
    for (const h of this.#hooks) await h.beforeStep?.(this.#ctx(step, "beforeStep"));
  }

  /** Runs every `afterStep`. */
  async afterStep(step: number): Promise<void> {
    for (const h of this.#hooks) await h.afterStep?.(this.#ctx(step, "afterStep"));
  }

  /**
   * Passes a micro-batch through every `transformBatch`. The hooks see copies; only the inputs
   * come back, and they must keep their length and stay integer token ids.
   */
  transformBatch(batch: Batch, step: number, batchIndex: number): Batch {
    let inputs = batch.inputs;
    for (const h of this.#hooks) {
      if (!h.transformBatch) continue;
      const copy: Batch = { ...batch, inputs: inputs.slice(), targets: batch.targets.slice() };
      const ctx: BatchContext = {
        ...this.#ctx(batchIndex, "transformBatch"),
        step,
        batchIndex,
      };
      const out = h.transformBatch(copy, ctx) ?? copy;
      if (!(out.inputs instanceof Int32Array) || out.inputs.length !== batch.inputs.length) {
        throw new UserError(
          `transformBatch: must return inputs as an Int32Array of ${batch.inputs.length} ids`,
        );
      }
      inputs = out.inputs;
    }
    return inputs === batch.inputs ? batch : { ...batch, inputs };
  }

  /** Collects every `metrics` hook's numbers; a non-number or a built-in name is a UserError. */
  async metrics(step: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const h of this.#hooks) {
      if (!h.metrics) continue;
      const values = await h.metrics(this.#ctx(step, "metrics"));
      if (values === null || typeof values !== "object" || Array.isArray(values)) {
        throw new UserError(`metrics hook: expected an object of numbers, got ${typeof values}`);
      }
      for (const [name, value] of Object.entries(values)) {
        if (typeof value !== "number") {
          throw new UserError(
            `metrics hook: "${name}" must be a number, got ${
              value === null ? "null" : typeof value
            }`,
          );
        }
        if (TRAIN_KEYS.has(name)) {
          throw new UserError(`metrics hook: "${name}" is a built-in train field; rename it`);
        }
        out[name] = value;
      }
    }
    return out;
  }
}

/** Freezes what `training.freeze` lists (globs over parameter names). */
export function applyConfigFreeze(model: LanguageModel, patterns: readonly string[]): void {
  for (const p of patterns) {
    try {
      model.params.setTrainable(p, false);
    } catch (err) {
      if (err instanceof UserError) {
        throw new UserError(`training.freeze: ${err.message.replace(/^setTrainable: /, "")}`);
      }
      throw err;
    }
  }
}
