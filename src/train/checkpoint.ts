/**
 * Checkpoints: `checkpoints/step_<N>/{model.safetensors, optimizer.safetensors, state.json}`,
 * written into a temp directory and renamed into place, so a checkpoint directory is either
 * complete or absent. `checkpoints/latest` and `checkpoints/best` are small JSON pointers; the
 * last K checkpoints plus the best are kept.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { ModelConfig } from "../config/schema.ts";
import { readSafetensors, type SafetensorsTensor, writeSafetensors } from "../nn/safetensors.ts";
import { UserError } from "../util/errors.ts";
import { exists, writeJsonAtomic } from "../util/fs.ts";

/** Everything besides tensors that an exact resume needs (`state.json`). */
export interface TrainState {
  /** Optimizer steps completed. */
  step: number;
  /** Training tokens consumed. */
  tokens: number;
  /** Micro-batches drawn so far: the data position (batches depend on seed and index only). */
  batch_index: number;
  /** The RNG is stateless per batch: its state is the seed plus the batch index. */
  rng: { seed: number; batch_index: number };
  /** The learning-rate schedule as it stands (lr_scale < 1 after guard cuts). */
  schedule: { total_steps: number; warmup_steps: number; lr_scale: number };
  best_val_loss: number | null;
  best_step: number | null;
  /** The first validation loss of the run (the reference for progress_to_optimal). */
  initial_val_loss: number | null;
  /** Non-finite failures so far (stability guard). */
  failures: number;
  elapsed_s: number;
  /** The model section, to refuse resuming into a different shape. */
  model: ModelConfig;
}

/** A parameter's values with its shape. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** AdamW's state: flat first and second moments and its step count. */
export interface OptimizerState {
  m: Float32Array;
  v: Float32Array;
  step: number;
}

/** The content of one checkpoint. */
export interface Checkpoint {
  params: Map<string, NamedTensor>;
  optimizer: OptimizerState;
  state: TrainState;
}

/** A `latest`/`best` pointer. */
export interface CheckpointPointer {
  step: number;
  dir: string;
  val_loss?: number | null;
}

/** `runDir/checkpoints`. */
export function checkpointsDir(runDir: string): string {
  return join(runDir, "checkpoints");
}

/**
 * Writes checkpoint `step` (temp dir, then rename; an existing `step_<N>` is replaced only after
 * the new one is complete) and points `latest` at it. Returns the checkpoint directory.
 */
export async function saveCheckpoint(runDir: string, ckpt: Checkpoint): Promise<string> {
  const root = checkpointsDir(runDir);
  await Deno.mkdir(root, { recursive: true });
  const name = `step_${ckpt.state.step}`;
  const final = join(root, name);
  const tmp = join(root, `.${name}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  await Deno.mkdir(tmp);
  try {
    const model = new Map<string, SafetensorsTensor>();
    for (const [k, t] of ckpt.params) model.set(k, { dtype: "F32", shape: t.shape, data: t.data });
    await writeSafetensors(join(tmp, "model.safetensors"), model, { format: "pt" });
    const opt = new Map<string, SafetensorsTensor>([
      ["adamw.m", { dtype: "F32", shape: [ckpt.optimizer.m.length], data: ckpt.optimizer.m }],
      ["adamw.v", { dtype: "F32", shape: [ckpt.optimizer.v.length], data: ckpt.optimizer.v }],
    ]);
    await writeSafetensors(join(tmp, "optimizer.safetensors"), opt, {
      step: String(ckpt.optimizer.step),
    });
    await writeJsonAtomic(join(tmp, "state.json"), ckpt.state);
    if (await exists(final)) {
      const old = `${tmp}.old`;
      await Deno.rename(final, old);
      await Deno.rename(tmp, final);
      await Deno.remove(old, { recursive: true });
    } else {
      await Deno.rename(tmp, final);
    }
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  await writePointer(runDir, "latest", { step: ckpt.state.step, dir: name });
  return final;
}

/** Writes the `latest` or `best` pointer atomically. */
export async function writePointer(
  runDir: string,
  which: "latest" | "best",
  pointer: CheckpointPointer,
): Promise<void> {
  await writeJsonAtomic(join(checkpointsDir(runDir), which), pointer);
}

/** Reads the `latest` or `best` pointer, or null when there is none. */
export async function readPointer(
  runDir: string,
  which: "latest" | "best",
): Promise<CheckpointPointer | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(checkpointsDir(runDir), which)));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new UserError(`${join(checkpointsDir(runDir), which)}: ${(err as Error).message}`);
  }
}

/** Deletes all but the newest `keep` checkpoints, always keeping the one `best` points at. */
export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  const root = checkpointsDir(runDir);
  const steps: number[] = [];
  for await (const e of Deno.readDir(root)) {
    const m = /^step_(\d+)$/.exec(e.name);
    if (e.isDirectory && m) steps.push(Number(m[1]));
  }
  steps.sort((a, b) => a - b);
  const best = await readPointer(runDir, "best");
  const latest = await readPointer(runDir, "latest");
  const keepSet = new Set(steps.slice(-keep));
  if (best) keepSet.add(best.step);
  if (latest) keepSet.add(latest.step);
  for (const s of steps) {
    if (!keepSet.has(s)) await Deno.remove(join(root, `step_${s}`), { recursive: true });
  }
}

/** Reads a checkpoint directory back. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  let state: TrainState;
  try {
    state = JSON.parse(await Deno.readTextFile(join(dir, "state.json")));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`not a checkpoint: ${dir}`);
    throw new UserError(`${join(dir, "state.json")}: ${(err as Error).message}`);
  }
  const model = await readSafetensors(join(dir, "model.safetensors"));
  const params = new Map<string, NamedTensor>();
  for (const [k, t] of model.tensors) {
    if (t.dtype !== "F32") throw new UserError(`${dir}: tensor ${k} is ${t.dtype}, expected F32`);
    params.set(k, { shape: t.shape, data: t.data as Float32Array });
  }
  const opt = await readSafetensors(join(dir, "optimizer.safetensors"));
  const m = opt.tensors.get("adamw.m")?.data as Float32Array | undefined;
  const v = opt.tensors.get("adamw.v")?.data as Float32Array | undefined;
  if (!m || !v) throw new UserError(`${dir}/optimizer.safetensors: missing adamw.m / adamw.v`);
  return { params, optimizer: { m, v, step: Number(opt.metadata.step ?? state.step) }, state };
}

/**
 * Resolves what `--resume` names: a checkpoint directory (it has `state.json`) or a run directory
 * (its `checkpoints/latest`). Returns the run directory and the checkpoint directory.
 */
export async function resolveResumeTarget(
  path: string,
): Promise<{ runDir: string; checkpointDir: string }> {
  if (!(await exists(path))) throw new UserError(`resume target not found: ${path}`);
  if (await exists(join(path, "state.json"))) {
    const runDir = basename(dirname(path)) === "checkpoints" ? dirname(dirname(path)) : null;
    if (!runDir || !(await exists(join(runDir, "run.json")))) {
      throw new UserError(`checkpoint ${path} is not inside a run directory (runs/<name>/<id>/)`);
    }
    return { runDir, checkpointDir: path };
  }
  if (!(await exists(join(path, "run.json")))) {
    throw new UserError(`resume target is neither a run nor a checkpoint directory: ${path}`);
  }
  const latest = await readPointer(path, "latest");
  if (!latest) throw new UserError(`run ${path} has no checkpoint to resume from`);
  const checkpointDir = join(checkpointsDir(path), latest.dir);
  if (!(await exists(join(checkpointDir, "state.json")))) {
    throw new UserError(`run ${path}: checkpoints/latest points at a missing ${latest.dir}`);
  }
  return { runDir: path, checkpointDir };
}

/** The newest run directory of an experiment (by directory name), or null. */
export async function latestRunDir(root: string, experimentName: string): Promise<string | null> {
  const parent = join(root, experimentName);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(parent)) if (e.isDirectory) names.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  names.sort();
  for (let i = names.length - 1; i >= 0; i--) {
    const dir = join(parent, names[i]);
    if (await readPointer(dir, "latest")) return dir;
  }
  return null;
}
