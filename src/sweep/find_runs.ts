/**
 * Finding a sweep's runs on disk by the `sweep_id` and `sweep_index` their run.json records:
 * what lets a requeued Slurm task, or `--resume` with `--sweep-index`, continue its own run.
 *
 * @module
 */

import { join } from "node:path";
import { readPointer } from "../train/checkpoint.ts";
import type { RunInfo } from "../train/run_dir.ts";

/** A run directory of a sweep and its run.json. */
export interface SweepRun {
  dir: string;
  info: RunInfo;
}

async function dirsOf(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return names.sort();
}

async function readInfo(dir: string): Promise<RunInfo | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "run.json"))) as RunInfo;
  } catch {
    return null; // not a run, or one being written for the first time
  }
}

/**
 * Every run of sweep `id` under `root` (`root/<experiment>/<run>/`), oldest first by directory
 * name. `experiment` narrows the search to one experiment directory.
 */
export async function sweepRuns(
  root: string,
  id: string,
  experiment?: string,
): Promise<SweepRun[]> {
  const found: SweepRun[] = [];
  for (const exp of experiment ? [experiment] : await dirsOf(root)) {
    for (const name of await dirsOf(join(root, exp))) {
      const dir = join(root, exp, name);
      const info = await readInfo(dir);
      if (info?.sweep_id === id) found.push({ dir, info });
    }
  }
  return found;
}

/** The newest run of point `index` of sweep `id` that has a checkpoint to resume, or null. */
export async function resumableSweepRun(
  root: string,
  experiment: string,
  id: string,
  index: number,
): Promise<string | null> {
  const runs = (await sweepRuns(root, id, experiment)).filter((r) => r.info.sweep_index === index);
  for (let i = runs.length - 1; i >= 0; i--) {
    if (await readPointer(runs[i].dir, "latest")) return runs[i].dir;
  }
  return null;
}
