/**
 * `deno task train --config configs/x.yaml [key=value …] [--resume [path]]`: trains a GPT and
 * writes a run directory (see README "Training").
 */

import { parseExperimentArgs } from "../src/cli/experiment_args.ts";
import { runCli } from "../src/cli/run.ts";
import { importPlugins } from "../src/plugins/imports.ts";
import { typecheckLocal } from "../src/plugins/typecheck.ts";
import { launchTraining } from "../src/train/launch.ts";
import { printableConfigs } from "../src/train/print_config.ts";
import { loadConfigs } from "../src/config/load.ts";
import { formatSweepListing } from "../src/sweep/list.ts";
import { parallelExitCode, runParallel } from "../src/sweep/parallel.ts";
import { requestedSweepIndex } from "../src/sweep/select.ts";
import { takeSweepFlags } from "../src/sweep/train_flags.ts";
import type { TrainResult } from "../src/train/trainer.ts";
import { UserError } from "../src/util/errors.ts";
import { holdStopSignals, stopExitCode } from "../src/train/stop_signals.ts";

const HELP = `Usage: deno task train --config <file.yaml> [key.path=value …] [--resume [path]]

Trains the model a YAML config describes and writes runs/<experiment_name>/<time>-<id>/
(config.yaml, run.json, metrics.jsonl, checkpoints/).

Options:
  --config <file>   experiment config (YAML: experiment_name, seed, device, data, model, training),
                    or a stem (configs/small: small.yaml and every small-*.yaml)
  key.path=value    override any config key, e.g. training.batch_size=64 seed=3
  --resume [path]   continue a run: a run directory, a checkpoint directory, or (no path) the
                    latest run of the config's experiment; model, optimizer, schedule, step and
                    data position are restored exactly
  --import <file>   a plugin module (models, sources, hooks) loaded before anything else;
                    repeatable; recorded in config.yaml so validate, probe and --resume load
                    it again (they refuse when it is missing or changed; --import overrides).
                    Plugins and edited .ts files are type-checked first (deno check, cached
                    by content; KILN_NO_TYPECHECK=1 skips it)
  --force           resume even when the config changes the seed, batch size, data or model
                    (recorded in config.yaml and in the resume event of metrics.jsonl)
  --runs <dir>      root of run directories (default: runs)
  --list-sweep      print the sweep's points (index, run name, overrides) and exit
  --print-config    print the config(s) with model.vocab_size / model.max_seq_len "auto"
                    resolved from the data, and exit (nothing is trained or written)
  --sweep-index I   train only point I of the sweep (also KILN_SWEEP_INDEX, or Slurm's
                    SLURM_ARRAY_TASK_ID inside a job array)
  --resume-or-start with a sweep index: continue that point's latest run if it has one, else
                    start it (what each Slurm array task does, so a requeue continues)
  --parallel N      train the sweep's points as N child processes at a time (logs under
                    <runs>/sweeps/<sweep id>/logs/); Ctrl-C stops them all cleanly
  --no-progress     no progress bar
  -h, --help        this help

A config with a sweep: section trains every combination in turn; an ablations: section (named
override sets) trains each beside the base, as experiment <experiment_name>-<ablation>.
--config configs/small (a stem, no extension) trains small.yaml and every small-*.yaml.
Ctrl-C (SIGINT) or SIGHUP finishes the current step, writes a checkpoint and marks the run
"stopped"; SIGTERM does the same and marks it "preempted". Exit codes: 0 after Ctrl-C, 143 after
SIGTERM, 129 after SIGHUP.`;

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
  const printConfig = args.includes("--print-config");
  const sweepFlags = takeSweepFlags(args.filter((a) => a !== "--print-config"));
  const { rest, resume, force } = takeResume(sweepFlags.rest);
  if (force && resume === undefined) throw new UserError("--force applies only to --resume");
  const parsed = parseExperimentArgs("train", rest);
  if (parsed.help) return console.log(HELP);
  holdStopSignals();
  await typecheckLocal({ plugins: parsed.imports });
  // plugins first: their models, sources and config keys must exist when the config is read
  await importPlugins(parsed.imports);
  const file = parsed.configPath && await loadConfigs(parsed.configPath, parsed.overrides);
  if (sweepFlags.listSweep) {
    if (!file) throw new UserError("--list-sweep needs --config");
    return console.log(formatSweepListing(file));
  }
  if (printConfig) {
    const yaml = await printableConfigs({
      configPath: parsed.configPath,
      overrides: parsed.overrides,
      resume,
      imports: parsed.imports,
    });
    await Deno.stdout.write(new TextEncoder().encode(yaml));
    return;
  }
  const hasSweep = !!file && file[0].sweepId !== undefined;
  if (sweepFlags.parallel !== undefined) {
    if (!file || !hasSweep) throw new UserError("--parallel needs --config with a sweep: section");
    if (resume !== undefined || sweepFlags.sweepIndex !== undefined) {
      throw new UserError("--parallel runs every point: drop --resume/--sweep-index");
    }
    const result = await runParallel({
      configPath: parsed.configPath!,
      overrides: parsed.overrides,
      imports: parsed.imports,
      runsRoot: parsed.runsRoot ?? "runs",
      sweepId: file[0].sweepId!,
      indices: file.map((_, i) => i),
      parallel: sweepFlags.parallel,
      resumeOrStart: sweepFlags.resumeOrStart,
      progress: parsed.progress,
    });
    const code = parallelExitCode(result);
    if (code === 1) throw new UserError("some sweep points failed (see their logs)", 1);
    if (code !== 0) Deno.exit(code);
    return;
  }
  if (sweepFlags.resumeOrStart && resume !== undefined) {
    throw new UserError("--resume-or-start and --resume exclude each other");
  }
  const results = await launchTraining({
    configPath: parsed.configPath,
    overrides: parsed.overrides,
    resume: sweepFlags.resumeOrStart ? { orStart: true } : resume,
    sweepIndex: requestedSweepIndex(sweepFlags.sweepIndex, hasSweep),
    runsRoot: parsed.runsRoot,
    imports: parsed.imports,
    trainOptions: { handleSigint: true, progress: parsed.progress, force },
    onRunEnd: (r) => console.log(summary(r)),
  });
  const failed = results.find((r) => r.status === "failed");
  if (failed) throw new UserError(`training failed: ${failed.message}`, 1);
  // SIGTERM/SIGHUP: 128 + signo, so a scheduler sees the signal it sent and may requeue.
  const signal = results.at(-1)?.signal;
  if (signal && stopExitCode(signal) !== 0) Deno.exit(stopExitCode(signal));
}

if (import.meta.main) await runCli(() => main(Deno.args));
