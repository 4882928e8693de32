/**
 * Loading a trained model for evaluation: from a run directory (its `checkpoints/latest`), an
 * experiment directory (its newest run), a checkpoint directory (`step_<N>/` with `state.json`), or a Hugging Face GPT-2 directory
 * (`config.json` + `model.safetensors`) — with its config, its data source (built lazily, only
 * when evaluation needs it) and the codec that turns prompts into ids.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { readConfigFile, validateConfig } from "../config/load.ts";
import type { Config, ResolvedConfig } from "../config/schema.ts";
import { requireResolved, sourceContextOf } from "../config/model_sizes.ts";
import "../data/sources_all.ts";
import { createSource, type TrainingSource } from "../data/sources.ts";
import { ProcessSource } from "../data/synthetic/process_source.ts";
import { specialTokenIds } from "../data/synthetic/sequence.ts";
import { TaskSource } from "../data/synthetic/tasks/task_source.ts";
import { Device } from "../gpu/device.ts";
import type { GPT, GPTConfig } from "../nn/gpt.ts";
import { loadHfGpt2 } from "../nn/hf_gpt2.ts";
import { createGpt } from "../nn/models_all.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import {
  type Checkpoint,
  checkpointsDir,
  latestRunDir,
  loadCheckpoint,
  resolvePointer,
} from "../train/checkpoint.ts";
import { checkParamsMatch } from "../train/checkpoint_check.ts";
import { toGptConfig } from "../train/prepare.ts";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { bpeCodec, codecFromTokenizerJson, idCodec, taskCodec, type TextCodec } from "./codec.ts";
import { fileTuneCache } from "../util/tune_cache_file.ts";

/** GPT-2's vocabulary size: a model of that size with no tokenizer file uses GPT-2's. */
const GPT2_VOCAB = 50257;

/** Where a model came from. */
export interface ModelLocation {
  kind: "run" | "checkpoint" | "hf";
  /** The run directory (null for a Hugging Face directory or a checkpoint outside a run). */
  runDir: string | null;
  /** The checkpoint directory, or the Hugging Face directory. */
  checkpointDir: string;
}

/** A model ready to evaluate, with what it was trained on. */
export interface LoadedModel extends ModelLocation {
  device: Device;
  model: GPT;
  config: GPTConfig;
  /** The checkpoint's training state (null for Hugging Face weights). */
  checkpoint: Checkpoint | null;
  /** The run's resolved config (null when there is no run directory). */
  runConfig: ResolvedConfig | null;
  /** Where artifacts (attention maps, activations) go: the run directory, else the checkpoint. */
  artifactRoot: string;
  /** The codec for prompts (tokenizer.json, the data's own vocabulary, GPT-2, or plain ids). */
  codec(): Promise<TextCodec>;
  /** The run's batch source (validation batches, task metrics); a UserError without a run. */
  source(): Promise<TrainingSource>;
}

/** Resolves a path to a run, checkpoint or Hugging Face directory; anything else is a UserError. */
export async function locateModel(path: string): Promise<ModelLocation> {
  if (!(await exists(path))) throw new UserError(`checkpoint not found: ${path}`);
  if (await exists(join(path, "state.json"))) {
    const parent = dirname(path);
    const runDir =
      basename(parent) === "checkpoints" && await exists(join(dirname(parent), "run.json"))
        ? dirname(parent)
        : null;
    return { kind: "checkpoint", runDir, checkpointDir: path };
  }
  if (await exists(join(path, "config.json")) && await exists(join(path, "model.safetensors"))) {
    return { kind: "hf", runDir: null, checkpointDir: path };
  }
  if (await exists(join(path, "run.json")) || await exists(checkpointsDir(path))) {
    // checkpoints/latest, or the newest complete checkpoint when latest is missing or torn.
    const checkpointDir = await resolvePointer(path, "latest");
    if (!checkpointDir) throw new UserError(`run ${path} has no complete checkpoint yet`);
    return { kind: "run", runDir: path, checkpointDir };
  }
  // An experiment directory (runs/<name>/): its newest run that has a checkpoint.
  const newest = await latestRunDir(dirname(path), basename(path));
  if (newest) return await locateModel(newest);
  throw new UserError(
    `not a run, checkpoint or Hugging Face model directory: ${path} (expected run.json, ` +
      `state.json, or config.json + model.safetensors)`,
  );
}

/** Writes checkpoint values into the model after checking every name and shape. */
export function writeCheckpointParams(
  model: Pick<GPT, "params">,
  ckpt: Checkpoint,
  source: string,
): void {
  checkParamsMatch(model.params.tensors, ckpt.params, source);
  const values = new Map<string, Float32Array>();
  for (const [name, stored] of ckpt.params) values.set(name, stored.data);
  model.params.write(values);
}

/** The run's resolved config.yaml, or null without a run directory or file. */
export async function readRunConfig(runDir: string | null): Promise<ResolvedConfig | null> {
  if (runDir === null) return null;
  const path = join(runDir, "config.yaml");
  if (!(await exists(path))) return null;
  return requireResolved(validateConfig(await readConfigFile(path), path), path);
}

/**
 * Loads the model at `path` (run, checkpoint or Hugging Face directory) onto `device` (opened
 * when not given). Missing or corrupt files are one-line UserErrors.
 *
 * @example
 * ```ts
 * const m = await loadModel("runs/shakespeare_char/20250101-120000-ab12cd");
 * const codec = await m.codec();
 * ```
 */
export async function loadModel(
  path: string,
  opts: { device?: Device } = {},
): Promise<LoadedModel> {
  const where = await locateModel(path);
  const runConfig = await readRunConfig(where.runDir);
  let checkpoint: Checkpoint | null = null;
  let config: GPTConfig;
  if (where.kind !== "hf") {
    checkpoint = await loadCheckpoint(where.checkpointDir);
    if (!checkpoint.state?.model) {
      throw new UserError(`${join(where.checkpointDir, "state.json")}: no model section`);
    }
    config = toGptConfig(checkpoint.state.model);
  }
  const device = opts.device ?? await Device.open({ tuneCache: fileTuneCache() });
  let model: GPT;
  if (where.kind === "hf") {
    model = await loadHfGpt2(device, where.checkpointDir);
    config = model.config;
  } else {
    model = createGpt(device, config!, { seed: 0 });
    writeCheckpointParams(model, checkpoint!, join(where.checkpointDir, "model.safetensors"));
  }
  const getSource = lazyRunSource(runConfig, path);
  let codec: Promise<TextCodec> | null = null;
  return {
    ...where,
    device,
    model,
    config: config!,
    checkpoint,
    runConfig,
    artifactRoot: where.runDir ?? where.checkpointDir,
    codec: () => codec ??= resolveCodec(where, runConfig, config!, getSource),
    source: getSource,
  };
}

async function resolveCodec(
  where: ModelLocation,
  runConfig: Config | null,
  config: GPTConfig,
  source: () => Promise<TrainingSource>,
): Promise<TextCodec> {
  for (const dir of [where.runDir, where.kind === "hf" ? where.checkpointDir : null]) {
    if (dir === null) continue;
    const path = join(dir, "tokenizer.json");
    if (await exists(path)) return codecFromTokenizerJson(await Deno.readTextFile(path), path);
  }
  const kind = runConfig?.data.source;
  if (kind === "task" || kind === "process") {
    const src = await source();
    if (src instanceof TaskSource) return taskCodec(src.vocab);
    if (src instanceof ProcessSource) {
      const specials = specialTokenIds(src.process.vocabSize, {
        bos: src.metadata.bos === true,
        eos: src.metadata.eos === true,
      });
      return idCodec(src.vocabSize, specials);
    }
  }
  if (kind === undefined && config.vocab_size === GPT2_VOCAB) {
    return bpeCodec(await Tokenizer.load("gpt2"));
  }
  return idCodec(config.vocab_size);
}

/**
 * The data source a run was trained on, built from its config on first call and cached; a
 * rejected promise (one line) when the checkpoint came without a config.yaml.
 */
export function lazyRunSource(
  runConfig: ResolvedConfig | null | undefined,
  path: string,
): () => Promise<TrainingSource> {
  let source: Promise<TrainingSource> | null = null;
  return () => {
    if (!runConfig) {
      return Promise.reject(
        new UserError(`${path}: no run config (config.yaml) to build the data from`),
      );
    }
    source ??= createSource(
      runConfig.data,
      sourceContextOf(runConfig, (file: string) => Deno.readTextFile(file)),
    );
    return source;
  };
}
