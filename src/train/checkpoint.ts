/**
 * Checkpoints: `checkpoints/step_<N>/{model.safetensors, optimizer.safetensors, state.json,
 * manifest.json}`, written into a temp directory (each file fsynced, the manifest last) and
 * renamed into place, so a checkpoint directory is either complete or absent. Re-saving a step
 * moves the old copy aside first and removes it only after the new one is in place and `latest`
 * points at it; a crash in between leaves the old copy, which the next writer puts back
 * ({@link recoverCheckpoints}). `checkpoints/latest` and `checkpoints/best` are small JSON
 * pointers; a pointer at a missing or torn checkpoint falls back to the newest complete one.
 * The last K checkpoints plus the best are kept.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { ModelConfig } from "../config/schema.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from "../nn/safetensors.ts";
import { UserError } from "../util/errors.ts";
import { exists, writeJsonAtomic } from "../util/fs.ts";
import { checkFinite, checkOptimizerAgreement, checkTrainState } from "./checkpoint_check.ts";
import {
  buildManifest,
  checkAgainstManifest,
  isCompleteCheckpoint,
  MANIFEST,
  readManifest,
} from "./checkpoint_manifest.ts";
import { crashPoint } from "./crash_point.ts";

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
  /** Adaptive clipping's gradient-norm history (src/train/clipping.ts). */
  clip_history?: number[];
  /** The spike guard's recent losses and gradient norms (src/train/spike_guard.ts). */
  spike_history?: { loss: number[]; grad_norm: number[] };
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

/** Writes `bytes` to a new file and fsyncs it (inside a temp directory: no rename needed). */
async function writeFileDurable(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    crashPoint("checkpoint.before_fsync_file");
    await file.sync();
    crashPoint("checkpoint.after_fsync_file");
  } finally {
    file.close();
  }
}

/** fsyncs a directory, so the renames in it survive a power cut. */
async function syncDir(dir: string): Promise<void> {
  crashPoint("checkpoint.before_fsync_dir");
  const file = await Deno.open(dir, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
  crashPoint("checkpoint.after_fsync_dir");
}

async function rename(from: string, to: string, point: string): Promise<void> {
  crashPoint(`checkpoint.before_${point}`);
  await Deno.rename(from, to);
  crashPoint(`checkpoint.after_${point}`);
}

async function removeTree(path: string, point: string): Promise<void> {
  crashPoint(`checkpoint.before_${point}`);
  await Deno.remove(path, { recursive: true });
  crashPoint(`checkpoint.after_${point}`);
}

/** The files of a checkpoint, encoded. */
function encodeCheckpoint(ckpt: Checkpoint): Map<string, Uint8Array> {
  const model = new Map<string, SafetensorsTensor>();
  for (const [k, t] of ckpt.params) model.set(k, { dtype: "F32", shape: t.shape, data: t.data });
  const opt = new Map<string, SafetensorsTensor>([
    ["adamw.m", { dtype: "F32", shape: [ckpt.optimizer.m.length], data: ckpt.optimizer.m }],
    ["adamw.v", { dtype: "F32", shape: [ckpt.optimizer.v.length], data: ckpt.optimizer.v }],
  ]);
  return new Map([
    ["model.safetensors", encodeSafetensors(model, { format: "pt" })],
    ["optimizer.safetensors", encodeSafetensors(opt, { step: String(ckpt.optimizer.step) })],
    ["state.json", new TextEncoder().encode(JSON.stringify(ckpt.state, null, 2) + "\n")],
  ]);
}

/**
 * Writes checkpoint `step` and points `latest` at it; returns the checkpoint directory. The new
 * copy is complete on disk before anything existing is touched, and an existing `step_<N>` is
 * only moved aside (never removed) until the new one has replaced it.
 */
export async function saveCheckpoint(runDir: string, ckpt: Checkpoint): Promise<string> {
  const root = checkpointsDir(runDir);
  await Deno.mkdir(root, { recursive: true });
  const name = `step_${ckpt.state.step}`;
  const final = join(root, name);
  const tag = `${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
  const tmp = join(root, `.${name}.${tag}.tmp`);
  const old = join(root, `.${name}.${tag}.old`);
  await Deno.mkdir(tmp);
  let movedAside = false;
  try {
    const files = encodeCheckpoint(ckpt);
    for (const [file, bytes] of files) await writeFileDurable(join(tmp, file), bytes);
    const manifest = new TextEncoder().encode(
      JSON.stringify(await buildManifest(files), null, 2) + "\n",
    );
    await writeFileDurable(join(tmp, MANIFEST), manifest);
    await syncDir(tmp);
    if (await exists(final)) {
      await rename(final, old, "rename_old");
      movedAside = true;
    }
    await rename(tmp, final, "rename_new");
    movedAside = false;
    await syncDir(root);
    crashPoint("checkpoint.before_pointer");
    await writePointer(runDir, "latest", { step: ckpt.state.step, dir: name });
    crashPoint("checkpoint.after_pointer");
    if (await exists(old)) await removeTree(old, "remove_old");
  } catch (err) {
    // Put the committed copy back if the new one never made it; drop the partial new one.
    if (movedAside) await Deno.rename(old, final).catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
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

/** Reads the `latest` or `best` pointer, or null when there is none (or it is unreadable). */
export async function readPointer(
  runDir: string,
  which: "latest" | "best",
): Promise<CheckpointPointer | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(join(checkpointsDir(runDir), which)));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof SyntaxError) return null;
    throw new UserError(`${join(checkpointsDir(runDir), which)}: ${(err as Error).message}`);
  }
  const p = raw as Partial<CheckpointPointer> | null;
  if (
    !p || typeof p !== "object" || !Number.isSafeInteger(p.step) || typeof p.dir !== "string" ||
    !/^step_\d+$/.test(p.dir)
  ) return null;
  return p as CheckpointPointer;
}

/** The complete checkpoints of a run, oldest first: `step_<N>` directories that are whole. */
export async function completeCheckpoints(
  runDir: string,
): Promise<{ step: number; dir: string }[]> {
  const root = checkpointsDir(runDir);
  const out: { step: number; dir: string }[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      const m = /^step_(\d+)$/.exec(e.name);
      if (e.isDirectory && m && await isCompleteCheckpoint(join(root, e.name))) {
        out.push({ step: Number(m[1]), dir: join(root, e.name) });
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The checkpoint directory a pointer names when it is complete, else the newest complete
 * checkpoint of the run (a crash between writing a checkpoint and its pointer, or a pointer
 * damaged by hand); null when the run has none.
 */
export async function resolvePointer(
  runDir: string,
  which: "latest" | "best",
): Promise<string | null> {
  const pointer = await readPointer(runDir, which);
  if (pointer) {
    const dir = join(checkpointsDir(runDir), pointer.dir);
    if (await isCompleteCheckpoint(dir)) return dir;
  }
  return (await completeCheckpoints(runDir)).at(-1)?.dir ?? null;
}

/**
 * Repairs what a killed writer left in `checkpoints/` (call only while holding the run's lock):
 * an old copy moved aside (`.step_N.*.old`) goes back when `step_N` is missing and is dropped
 * otherwise; temp files and directories (`.*.tmp`) are removed; a `latest` that names no
 * complete checkpoint is pointed at the newest one. Returns what it did, in words.
 */
export async function recoverCheckpoints(runDir: string): Promise<string[]> {
  const root = checkpointsDir(runDir);
  const done: string[] = [];
  const entries: string[] = [];
  try {
    for await (const e of Deno.readDir(root)) entries.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return done;
    throw err;
  }
  for (const name of entries.sort()) {
    const old = /^\.(step_\d+)\..+\.old$/.exec(name);
    if (old) {
      const final = join(root, old[1]);
      if (!(await exists(final)) && await isCompleteCheckpoint(join(root, name))) {
        await Deno.rename(join(root, name), final);
        done.push(`restored ${old[1]}`);
      } else {
        await Deno.remove(join(root, name), { recursive: true });
        done.push(`removed ${name}`);
      }
    } else if (/^\..+\.tmp$/.test(name)) {
      await Deno.remove(join(root, name), { recursive: true });
      done.push(`removed ${name}`);
    }
  }
  // A pointer torn or left dangling by hand points again at the newest complete checkpoint.
  const latest = await readPointer(runDir, "latest");
  const newest = (await completeCheckpoints(runDir)).at(-1);
  if (newest && !(latest && await isCompleteCheckpoint(join(root, latest.dir)))) {
    await writePointer(runDir, "latest", { step: newest.step, dir: `step_${newest.step}` });
    done.push(`latest → step_${newest.step}`);
  }
  if (done.length) await syncDir(root);
  return done;
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
    if (keepSet.has(s)) continue;
    // Renamed out of sight first, so a kill mid-delete never leaves a torn `step_<N>`.
    const doomed = join(root, `.step_${s}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
    await rename(join(root, `step_${s}`), doomed, "rename_prune");
    await removeTree(doomed, "remove_prune");
  }
}

/** Reads a file of a checkpoint, checking it against the manifest. */
async function readChecked(
  dir: string,
  name: string,
  manifest: Awaited<ReturnType<typeof readManifest>>,
): Promise<Uint8Array> {
  const path = join(dir, name);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`${path}: missing`);
    throw new UserError(`${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  await checkAgainstManifest(path, name, bytes, manifest);
  return bytes;
}

/**
 * Reads a checkpoint directory back and checks everything that can be checked without a model:
 * the manifest (sizes and SHA-256), the fields of `state.json` and their types, F32 tensors with
 * finite values, and optimizer moments and step that agree with the state. Every failure is a
 * one-line UserError naming the file and field. Validate and resume both load through here;
 * {@link checkParamsMatch} then checks names and shapes against the model.
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const statePath = join(dir, "state.json");
  if (!(await exists(statePath))) throw new UserError(`not a checkpoint: ${dir}`);
  const manifest = await readManifest(dir);
  let rawState: unknown;
  try {
    rawState = JSON.parse(new TextDecoder().decode(await readChecked(dir, "state.json", manifest)));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${statePath}: ${(err as Error).message.split("\n")[0]}`);
  }
  const state = checkTrainState(rawState, statePath);
  const modelPath = join(dir, "model.safetensors");
  const model = decodeSafetensors(await readChecked(dir, "model.safetensors", manifest), modelPath);
  const params = new Map<string, NamedTensor>();
  for (const [k, t] of model.tensors) {
    if (t.dtype !== "F32") {
      throw new UserError(`${modelPath}: tensor ${k} is ${t.dtype}, expected F32`);
    }
    checkFinite(t.data as Float32Array, `${modelPath}: tensor ${k}`);
    params.set(k, { shape: t.shape, data: t.data as Float32Array });
  }
  const optPath = join(dir, "optimizer.safetensors");
  const opt = decodeSafetensors(await readChecked(dir, "optimizer.safetensors", manifest), optPath);
  const moments: Float32Array[] = [];
  for (const key of ["adamw.m", "adamw.v"]) {
    const t = opt.tensors.get(key);
    if (!t) throw new UserError(`${optPath}: missing tensor ${key}`);
    if (t.dtype !== "F32" || t.shape.length !== 1) {
      throw new UserError(
        `${optPath}: ${key} must be a 1-D F32 tensor, found ${t.dtype} [${t.shape}]`,
      );
    }
    checkFinite(t.data as Float32Array, `${optPath}: ${key}`, { nonNegative: key === "adamw.v" });
    moments.push(t.data as Float32Array);
  }
  const stepText = opt.metadata.step;
  const step = stepText === undefined || !/^\d+$/.test(stepText) ? stepText : Number(stepText);
  const ckpt: Checkpoint = {
    params,
    optimizer: { m: moments[0], v: moments[1], step: step as number },
    state,
  };
  checkOptimizerAgreement(ckpt, optPath);
  return ckpt;
}

/**
 * The run directory `--resume` names: the path itself (it has `run.json`) or, for a checkpoint
 * directory (it has `state.json`), the run it sits in.
 */
export async function resumeRunDir(path: string): Promise<string> {
  if (!(await exists(path))) throw new UserError(`resume target not found: ${path}`);
  if (await exists(join(path, "state.json"))) {
    const runDir = basename(dirname(path)) === "checkpoints" ? dirname(dirname(path)) : null;
    if (!runDir || !(await exists(join(runDir, "run.json")))) {
      throw new UserError(`checkpoint ${path} is not inside a run directory (runs/<name>/<id>/)`);
    }
    return runDir;
  }
  if (!(await exists(join(path, "run.json")))) {
    throw new UserError(`resume target is neither a run nor a checkpoint directory: ${path}`);
  }
  return path;
}

/**
 * Resolves what `--resume` names: a checkpoint directory (it has `state.json`) or a run directory
 * (its `checkpoints/latest`, or the newest complete checkpoint). Returns the run directory and
 * the checkpoint directory.
 */
export async function resolveResumeTarget(
  path: string,
): Promise<{ runDir: string; checkpointDir: string }> {
  const runDir = await resumeRunDir(path);
  if (runDir !== path) return { runDir, checkpointDir: path };
  const checkpointDir = await resolvePointer(path, "latest") ?? await movedAsideCheckpoint(path);
  if (!checkpointDir) throw new UserError(`run ${path} has no complete checkpoint to resume from`);
  return { runDir: path, checkpointDir };
}

/**
 * The newest complete copy moved aside by a re-save that was killed (`.step_N.*.old`), for a
 * run that has no other: recovery under the lock puts it back as `step_N`.
 */
async function movedAsideCheckpoint(runDir: string): Promise<string | null> {
  const root = checkpointsDir(runDir);
  let best: { step: number; dir: string } | null = null;
  try {
    for await (const e of Deno.readDir(root)) {
      const m = /^\.step_(\d+)\..+\.old$/.exec(e.name);
      if (!m || !(await isCompleteCheckpoint(join(root, e.name)))) continue;
      if (!best || Number(m[1]) > best.step) best = { step: Number(m[1]), dir: join(root, e.name) };
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return best?.dir ?? null;
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
    if (await resolvePointer(dir, "latest")) return dir;
  }
  return null;
}
