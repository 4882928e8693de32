/**
 * Which sweep point a process trains: `--sweep-index I`, else `KILN_SWEEP_INDEX`, else Slurm's
 * `SLURM_ARRAY_TASK_ID` (set in every task of a job array), else all of them.
 *
 * @module
 */

import type { LoadedConfig } from "../config/load.ts";
import { UserError } from "../util/errors.ts";
import { hostEnv } from "../util/host_env.ts";

/** Where an index came from, for messages. */
export interface IndexChoice {
  index: number;
  source: string;
}

function parseIndex(text: string, source: string): IndexChoice {
  if (!/^\d+$/.test(text.trim())) {
    throw new UserError(`${source}: expected a sweep point index (0, 1, …), found "${text}"`);
  }
  return { index: Number(text.trim()), source };
}

/**
 * The requested sweep index: the flag's value, or the environment's. The Slurm variable counts
 * only for a file that has a sweep (a plain config run inside an array task trains itself).
 */
export function requestedSweepIndex(
  flag: string | undefined,
  hasSweep: boolean,
  env: (name: string) => string | undefined = hostEnv,
): IndexChoice | undefined {
  if (flag !== undefined) return parseIndex(flag, "--sweep-index");
  const kiln = env("KILN_SWEEP_INDEX");
  if (kiln !== undefined && kiln !== "") return parseIndex(kiln, "KILN_SWEEP_INDEX");
  const slurm = env("SLURM_ARRAY_TASK_ID");
  if (hasSweep && slurm !== undefined && slurm !== "") {
    return parseIndex(slurm, "SLURM_ARRAY_TASK_ID");
  }
  return undefined;
}

/** Keeps only the chosen point; an index out of range is a one-line UserError. */
export function selectSweepPoint(configs: LoadedConfig[], choice: IndexChoice): LoadedConfig[] {
  if (configs[0]?.sweepId === undefined) {
    throw new UserError(`${choice.source}: the config has no sweep: section`);
  }
  if (choice.index >= configs.length) {
    throw new UserError(
      `${choice.source}: index ${choice.index} is out of range (the sweep has ${configs.length} ` +
        `points, 0-${configs.length - 1})`,
    );
  }
  return [configs[choice.index]];
}
