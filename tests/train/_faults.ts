/**
 * Shared fixture of the fault-injection tests: a tiny mess3 config, one uninterrupted reference
 * run (trained once per test process, in a subprocess like every faulted run), and the checks
 * that a recovered run equals it bit for bit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseJsonLines } from "../../src/util/fs.ts";
import { type CommandOutput, runCommand, runTool } from "../_support/cli.ts";

/** A 6-step mess3 run with checkpoints at 2, 4 and 6 (the last two kept). */
export const CONFIG = `experiment_name: fi
seed: 3
data: { source: process, process: mess3, params: { x: 0.05, a: 0.85 }, bos: true }
model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 2, d_model: 32 }
training:
  batch_size: 4
  max_steps: 6
  learning_rate: 0.01
  warmup_steps: 1
  log_every: 1
  eval_every: 2
  eval_batches: 1
  checkpoint_every: 2
  keep_checkpoints: 2
`;

/** The reference run: its directory, loss curve and final tensors. */
export interface Reference {
  dir: string;
  curve: string[];
  model: Uint8Array;
  optimizer: Uint8Array;
}

/** A scratch directory holding `c.yaml`, removed when the test process ends. */
export const WORK = Deno.makeTempDirSync({ prefix: "kiln-faults-" });
Deno.writeTextFileSync(join(WORK, "c.yaml"), CONFIG);
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(WORK, { recursive: true });
  } catch { /* a mount point still busy: leave it to the OS */ }
});

/** Runs `deno task train` in {@link WORK} (no progress bar), with extra environment. */
export function trainCli(args: string[], env: Record<string, string> = {}): Promise<CommandOutput> {
  return runTool("train", [...args, "--no-progress"], { cwd: WORK, env });
}

/** The only run directory under `root/fi/`. */
export async function onlyRun(root: string): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(root, "fi"))) if (e.isDirectory) names.push(e.name);
  assert.equal(names.length, 1, `one run under ${root}: ${names}`);
  return join(root, "fi", names[0]);
}

/** The train and val losses of a run, one `type:step:loss` per line, in file order. */
export async function lossCurve(runDir: string): Promise<string[]> {
  const lines = parseJsonLines<{ type: string; step: number; loss?: number }>(
    await Deno.readTextFile(join(runDir, "metrics.jsonl")),
  );
  return lines.filter((l) => l.type === "train" || l.type === "val")
    .map((l) => `${l.type}:${l.step}:${l.loss}`);
}

let reference: Promise<Reference> | null = null;

/** Trains the reference run once (later calls share it). */
export function referenceRun(): Promise<Reference> {
  reference ??= (async () => {
    const root = join(WORK, "reference");
    const out = await trainCli(["--config", "c.yaml", "--runs", root]);
    assert.equal(out.code, 0, out.stderr);
    const dir = await onlyRun(root);
    const step6 = join(dir, "checkpoints", "step_6");
    return {
      dir,
      curve: await lossCurve(dir),
      model: await Deno.readFile(join(step6, "model.safetensors")),
      optimizer: await Deno.readFile(join(step6, "optimizer.safetensors")),
    };
  })();
  return reference;
}

/** Copies the reference run to a fresh `root/fi/<id>` and returns its path. */
export async function copyOfReference(name: string): Promise<string> {
  const ref = await referenceRun();
  const dir = join(WORK, name, "fi", "run");
  await Deno.mkdir(join(WORK, name, "fi"), { recursive: true });
  const cp = await runCommand("cp", ["-a", ref.dir, dir]);
  assert.equal(cp.code, 0, cp.stderr);
  return dir;
}

/** Names in `checkpoints/` that are neither `step_N`, `latest` nor `best` (leftovers). */
export async function leftovers(runDir: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(runDir, "checkpoints");
  if (!(await Deno.stat(root).catch(() => null))) return out;
  for await (const e of Deno.readDir(root)) {
    if (!/^(step_\d+|latest|best)$/.test(e.name)) out.push(e.name);
  }
  return out;
}

/**
 * Asserts a run finished exactly as the reference did: the same losses at every step (each
 * once, equal as floats), bit-identical final weights and optimizer moments, status finished,
 * its lock released and no temp or moved-aside checkpoint left.
 */
export async function assertEqualsReference(runDir: string): Promise<void> {
  const ref = await referenceRun();
  assert.deepEqual(await lossCurve(runDir), ref.curve, "loss curve equals the reference");
  const step6 = join(runDir, "checkpoints", "step_6");
  assert.deepEqual(await Deno.readFile(join(step6, "model.safetensors")), ref.model);
  assert.deepEqual(await Deno.readFile(join(step6, "optimizer.safetensors")), ref.optimizer);
  const info = JSON.parse(await Deno.readTextFile(join(runDir, "run.json")));
  assert.equal(info.status, "finished");
  assert.deepEqual(await leftovers(runDir), [], "no leftovers in checkpoints/");
  await assert.rejects(() => Deno.stat(join(runDir, "lock")), Deno.errors.NotFound);
}

/** The status run.json records. */
export async function statusOf(runDir: string): Promise<string> {
  return JSON.parse(await Deno.readTextFile(join(runDir, "run.json"))).status;
}
