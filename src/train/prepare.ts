/**
 * Everything a run needs decided before anything is written: the batch source, the model config
 * checked against it, the step count, and (for a resume) the checkpoint and its compatibility.
 * Every problem here is a one-line UserError, so bad input leaves no run directory behind.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import type { Config, ModelConfig, ResolvedConfig } from "../config/schema.ts";
import "../data/sources_all.ts";
import { createSource, type TrainingSource } from "../data/sources.ts";
import { resolveModelSizes, sourceContextOf } from "../config/model_sizes.ts";
import type { GPTConfig } from "../nn/gpt.ts";
import { checkModelName } from "../nn/models_all.ts";
import { checkEncDecData } from "../nn/encdec_config.ts";
import { UserError } from "../util/errors.ts";
import { type OpenedResume, openResume } from "./resume_open.ts";
import { checkFootprintFitsMemory, hostMemoryBytes, trainingFootprint } from "./model_fit.ts";
import type { TrainingFootprint } from "./model_fit.ts";

/** A run's decisions, made before any file is written. */
export interface PreparedRun {
  /** The config with its "auto" model sizes resolved from the source (saved as config.yaml). */
  config: ResolvedConfig;
  source: TrainingSource;
  gptConfig: GPTConfig;
  totalSteps: number;
  warmupSteps: number;
  resume: OpenedResume | null;
  /** What training needs in memory (checked against the device once it is open). */
  footprint: TrainingFootprint;
}

/** The model section as the registry's factories take it (absent optional keys left out). */
export function toGptConfig(model: ModelConfig): GPTConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model)) if (v !== undefined) out[k] = v;
  return out as unknown as GPTConfig;
}

export { checkModelFitsSource } from "../config/model_sizes.ts";

/** Total optimizer steps: max_steps, or num_epochs over the source's epoch. */
export function totalStepsOf(cfg: Config, source: TrainingSource): number {
  const t = cfg.training;
  if (t.max_steps !== undefined) return t.max_steps;
  const perEpoch = source.epochBatches(t.batch_size);
  if (perEpoch === null) {
    throw new UserError(
      `training.num_epochs: the data (${source.name}) is unbounded; set training.max_steps`,
    );
  }
  return Math.max(1, Math.ceil((t.num_epochs! * perEpoch) / t.grad_accum_steps));
}

/** Names the model keys that differ between a checkpoint and the config. */
export function modelDifferences(a: ModelConfig, b: ModelConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ModelConfig>;
  return [...keys].filter((k) => !isDeepStrictEqual(a[k], b[k])).map((k) =>
    `model.${k} ${JSON.stringify(b[k])} vs ${JSON.stringify(a[k])}`
  );
}

/** Builds the source and checks everything; loads the resume checkpoint when asked. */
export async function prepareRun(
  settings: Config,
  opts: { resume?: string; force?: boolean },
): Promise<PreparedRun> {
  checkModelName(settings.model.name);
  const source = await createSource(
    settings.data,
    sourceContextOf(settings, (path: string) => Deno.readTextFile(path)),
  );
  const cfg = resolveModelSizes(settings, source);
  checkEncDecData(toGptConfig(cfg.model), source);
  const footprint = trainingFootprint(cfg.model, cfg.training.batch_size, source.seqLen);
  checkFootprintFitsMemory(footprint, hostMemoryBytes());
  const totalSteps = totalStepsOf(cfg, source);
  const t = cfg.training;
  const warmupSteps = t.warmup_steps ?? Math.round((t.warmup_ratio ?? 0) * totalSteps);
  let resume: PreparedRun["resume"] = null;
  if (opts.resume !== undefined) {
    const opened = await openResume(opts.resume, cfg, opts.force ?? false);
    try {
      const { checkpoint, checkpointDir } = opened;
      const diff = modelDifferences(toComparable(checkpoint.state.model), toComparable(cfg.model));
      if (diff.length && !opts.force) {
        throw new UserError(
          `resume target ${checkpointDir} has a different model shape: ${diff.join(", ")}`,
        );
      }
      if (checkpoint.state.step > totalSteps) {
        throw new UserError(
          `resume target is at step ${checkpoint.state.step}, past the ${totalSteps} steps ` +
            `this config trains for: raise training.max_steps`,
        );
      }
      // The schedule follows the config resumed with (a raised max_steps stretches the decay).
      checkpoint.state.schedule.total_steps = totalSteps;
      checkpoint.state.schedule.warmup_steps = warmupSteps;
      resume = opened;
    } catch (err) {
      opened.lock.releaseSync();
      throw err;
    }
  }
  return {
    config: cfg,
    source,
    gptConfig: toGptConfig(cfg.model),
    totalSteps,
    warmupSteps,
    resume,
    footprint,
  };
}

function toComparable(model: ModelConfig): ModelConfig {
  return toGptConfig(model) as unknown as ModelConfig;
}
