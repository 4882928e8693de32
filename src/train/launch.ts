/**
 * What `deno task train` does, as a library function: resolve the config(s) (a file, overrides,
 * a sweep; or a run being resumed) and train each in turn.
 *
 * @module
 */

import { join } from "node:path";
import { loadConfigs, type LoadedConfig, readConfigFile, resolveConfigs } from "../config/load.ts";
import type { ImportRecord } from "../config/schema.ts";
import { importPlugins, importRunPlugins, recordedImports } from "../plugins/imports.ts";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { resumableSweepRun } from "../sweep/find_runs.ts";
import { type IndexChoice, selectSweepPoint } from "../sweep/select.ts";
import { latestRunDir, resumeRunDir } from "./checkpoint.ts";
import { train, type TrainOptions, type TrainResult } from "./trainer.ts";

/** Options of {@link launchTraining}. */
export interface LaunchOptions {
  /** The YAML config file (optional when resuming a run directory or checkpoint). */
  configPath?: string;
  /** `key.path=value` overrides. */
  overrides: string[];
  /**
   * `--resume`: undefined = a new run; `true` = the experiment's latest run (with a sweep index:
   * that point's latest run); a string = a path; `"or-start"` = that point's latest run if it
   * has one, else a new run (what a Slurm array task does, so a requeue continues).
   */
  resume?: string | true | { orStart: true };
  /** Train only this point of the sweep (`--sweep-index`, `KILN_SWEEP_INDEX`, Slurm's). */
  sweepIndex?: IndexChoice;
  /** Root of run directories (default `runs`). */
  runsRoot?: string;
  /** Passed through to `train` (`force`: resume despite changes that break exact resume). */
  trainOptions?: Omit<TrainOptions, "resume" | "runsRoot" | "sweep">;
  /**
   * `--import` plugin files, loaded before any config is read and recorded in config.yaml. When
   * resuming without them, the run's recorded plugins are loaded (checked by SHA-256).
   */
  imports?: string[];
  /** Called when a run ends (the CLI prints a summary line). */
  onRunEnd?: (result: TrainResult) => void;
}

/** Resolves the configs and the resume path a command line describes, before anything runs. */
export async function resolveLaunch(
  opts: LaunchOptions,
): Promise<{ configs: LoadedConfig[]; resumePath?: string }> {
  const records = await launchImports(opts);
  const resolved = await resolveConfigsOf(opts);
  if (records.length) { for (const c of resolved.configs) c.config.imports = records; }
  return resolved;
}

/** Loads the plugins first: the `--import` files, or those of the run being resumed. */
async function launchImports(opts: LaunchOptions): Promise<ImportRecord[]> {
  const explicit = opts.imports ?? [];
  if (opts.resume === undefined || explicit.length) return await importPlugins(explicit);
  let runDir: string | null;
  if (opts.resume === true || typeof opts.resume === "object") {
    if (!opts.configPath) return [];
    // The experiment's name, read before validation (which may need the plugins).
    const name = (await readConfigFile(opts.configPath)).experiment_name;
    runDir = typeof name === "string" ? await latestRunDir(opts.runsRoot ?? "runs", name) : null;
  } else {
    runDir = await resumeRunDir(opts.resume);
  }
  if (!runDir) return [];
  return await importRunPlugins(await recordedImports(runDir), explicit, runDir);
}

async function resolveConfigsOf(
  opts: LaunchOptions,
): Promise<{ configs: LoadedConfig[]; resumePath?: string }> {
  const root = opts.runsRoot ?? "runs";
  const load = async (path: string) => {
    const all = await loadConfigs(path, opts.overrides);
    return opts.sweepIndex ? selectSweepPoint(all, opts.sweepIndex) : all;
  };
  if (opts.resume === undefined) {
    if (!opts.configPath) throw new UserError("--config is required (see --help)");
    return { configs: await load(opts.configPath) };
  }
  let resumePath: string;
  let configs: LoadedConfig[];
  // A sweep point resumes its own latest run (found by sweep id and index in run.json).
  const sweepPoint = async () => {
    if (!opts.configPath) throw new UserError("--resume with a sweep index needs --config");
    const configs = await load(opts.configPath);
    const [p] = configs;
    const found = await resumableSweepRun(
      root,
      p.config.experiment_name,
      p.sweepId!,
      p.sweepIndex!,
    );
    return { configs, found };
  };
  if (typeof opts.resume === "object") {
    if (!opts.sweepIndex) throw new UserError("--resume-or-start needs a sweep index");
    const { configs, found } = await sweepPoint();
    return found ? { configs, resumePath: found } : { configs };
  }
  if (opts.resume === true && opts.sweepIndex) {
    const point = await sweepPoint();
    if (!point.found) {
      throw new UserError(`no run of sweep point ${opts.sweepIndex.index} to resume`);
    }
    configs = point.configs;
    resumePath = point.found;
  } else if (opts.resume === true) {
    if (!opts.configPath) {
      throw new UserError("--resume without a path needs --config (to find the latest run)");
    }
    configs = await loadConfigs(opts.configPath, opts.overrides);
    const name = configs[0].config.experiment_name;
    const latest = await latestRunDir(root, name);
    if (!latest) throw new UserError(`no run of experiment "${name}" under ${root} to resume`);
    resumePath = latest;
  } else {
    resumePath = opts.resume;
    const runDir = await resumeRunDir(resumePath);
    if (opts.configPath) configs = await load(opts.configPath);
    else {
      const saved = join(runDir, "config.yaml");
      if (!(await exists(saved))) throw new UserError(`run ${runDir} has no config.yaml`);
      configs = resolveConfigs(await readConfigFile(saved), opts.overrides, saved);
    }
  }
  if (configs.length !== 1) throw new UserError("--resume cannot be combined with a sweep");
  return { configs, resumePath };
}

/** Resolves and runs every configured training run; returns their results in order. */
export async function launchTraining(opts: LaunchOptions): Promise<TrainResult[]> {
  const { configs, resumePath } = await resolveLaunch(opts);
  const results: TrainResult[] = [];
  for (const { config, sweep, sweepId, sweepIndex } of configs) {
    const result = await train(config, {
      ...opts.trainOptions,
      runsRoot: opts.runsRoot,
      resume: resumePath,
      sweep,
      ...(sweepId ? { runInfo: { sweep_id: sweepId, sweep_index: sweepIndex } } : {}),
    });
    opts.onRunEnd?.(result);
    results.push(result);
    if (result.status === "stopped" || result.status === "preempted") break;
  }
  return results;
}
