/**
 * `deno task train --config configs/x.yaml [key=value …] [--resume [path]]`: trains a GPT and
 * writes a run directory (see README "Training").
 */

import { parseExperimentArgs } from "../src/cli/experiment_args.ts";
import { runCli } from "../src/cli/run.ts";
import { launchTraining } from "../src/train/launch.ts";
import type { TrainResult } from "../src/train/trainer.ts";
import { UserError } from "../src/util/errors.ts";

const HELP = `Usage: deno task train --config <file.yaml> [key.path=value …] [--resume [path]]

Trains the model a YAML config describes and writes runs/<experiment_name>/<time>-<id>/
(config.yaml, run.json, metrics.jsonl, checkpoints/).

Options:
  --config <file>   experiment config (YAML: experiment_name, seed, device, data, model, training)
  key.path=value    override any config key, e.g. training.batch_size=64 seed=3
  --resume [path]   continue a run: a run directory, a checkpoint directory, or (no path) the
                    latest run of the config's experiment; model, optimizer, schedule, step and
                    data position are restored exactly
  --force           resume even when the config changes the seed, batch size, data or model
                    (recorded in config.yaml and in the resume event of metrics.jsonl)
  --runs <dir>      root of run directories (default: runs)
  --no-progress     no progress bar
  -h, --help        this help

A config with a sweep: section trains every combination in turn. Ctrl-C finishes the current
step, writes a checkpoint and marks the run "stopped".`;

/** Splits off `--resume [path]` (its value is optional: parseArgs cannot express that) and `--force`. */
function takeResume(args: string[]): { rest: string[]; resume?: string | true; force: boolean } {
  const rest: string[] = [];
  let resume: string | true | undefined;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--force") force = true;
    else if (a.startsWith("--resume=")) resume = a.slice("--resume=".length);
    else if (a === "--resume") {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith("-") && !next.includes("=")) {
        resume = next;
        i++;
      } else resume = true;
    } else rest.push(a);
  }
  return { rest, resume, force };
}

function summary(r: TrainResult): string {
  const val = r.finalValLoss === null ? "" : `, val loss ${r.finalValLoss.toFixed(4)}`;
  const best = r.bestValLoss === null ? "" : ` (best ${r.bestValLoss.toFixed(4)})`;
  return `${r.dir}: ${r.status} at step ${r.steps}${val}${best}, ${r.elapsedS.toFixed(1)} s`;
}

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const { rest, resume, force } = takeResume(args);
  if (force && resume === undefined) throw new UserError("--force applies only to --resume");
  const parsed = parseExperimentArgs("train", rest);
  if (parsed.help) return console.log(HELP);
  const results = await launchTraining({
    configPath: parsed.configPath,
    overrides: parsed.overrides,
    resume,
    runsRoot: parsed.runsRoot,
    trainOptions: { handleSigint: true, progress: parsed.progress, force },
    onRunEnd: (r) => console.log(summary(r)),
  });
  const failed = results.find((r) => r.status === "failed");
  if (failed) throw new UserError(`training failed: ${failed.message}`, 1);
}

if (import.meta.main) await runCli(() => main(Deno.args));
