/**
 * What `deno task train` does, as a library function: resolve the config(s) (a file, overrides,
 * a sweep; or a run being resumed) and train each in turn.
 *
 * @module
 */

import { join } from "node:path";
import { loadConfigs, type LoadedConfig, readConfigFile, resolveConfigs } from "../config/load.ts";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { latestRunDir, resumeRunDir } from "./checkpoint.ts";
import { train, type TrainOptions, type TrainResult } from "./trainer.ts";

/** Options of {@link launchTraining}. */
export interface LaunchOptions {
  /** The YAML config file (optional when resuming a run directory or checkpoint). */
  configPath?: string;
  /** `key.path=value` overrides. */
  overrides: string[];
  /** `--resume`: undefined = a new run; `true` = the experiment's latest run; a string = a path. */
  resume?: string | true;
  /** Root of run directories (default `runs`). */
  runsRoot?: string;
  /** Passed through to `train` (`force`: resume despite changes that break exact resume). */
  trainOptions?: Omit<TrainOptions, "resume" | "runsRoot" | "sweep">;
  /** Called when a run ends (the CLI prints a summary line). */
  onRunEnd?: (result: TrainResult) => void;
}

/** Resolves the configs and the resume path a command line describes, before anything runs. */
export async function resolveLaunch(
  opts: LaunchOptions,
): Promise<{ configs: LoadedConfig[]; resumePath?: string }> {
  const root = opts.runsRoot ?? "runs";
  if (opts.resume === undefined) {
    if (!opts.configPath) throw new UserError("--config is required (see --help)");
    return { configs: await loadConfigs(opts.configPath, opts.overrides) };
  }
  let resumePath: string;
  let configs: LoadedConfig[];
  if (opts.resume === true) {
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
    if (opts.configPath) configs = await loadConfigs(opts.configPath, opts.overrides);
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
  for (const { config, sweep } of configs) {
    const result = await train(config, {
      ...opts.trainOptions,
      runsRoot: opts.runsRoot,
      resume: resumePath,
      sweep,
    });
    opts.onRunEnd?.(result);
    results.push(result);
    if (result.status === "stopped") break;
  }
  return results;
}
