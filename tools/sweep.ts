/**
 * `deno task sweep submit --config x.yaml --slurm …` / `deno task sweep status ID`: a sweep as a
 * Slurm job array (see README "Sweeps").
 */

import { intFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import { submitSweep } from "../src/sweep/slurm.ts";
import { formatSweepStatus, sweepStatus } from "../src/sweep/status.ts";
import { UserError } from "../src/util/errors.ts";

const HELP = `Usage:
  deno task sweep submit --config <file.yaml> [key.path=value …] --slurm [options]
  deno task sweep status <sweep id> [--runs DIR] [--json]

submit writes the sweep's directory <runs>/sweeps/<sweep id>/ (sweep.yaml, sweep.sbatch: a
readable array script you can also sbatch by hand, logs/point-<i>.log) and submits one array task
per point with sbatch, then prints the job id. Each task trains its point with --resume-or-start,
so a requeued task continues its own run; on SIGTERM a task checkpoints, marks its run
"preempted" and exits 143.

  --config <file>        the experiment config with a sweep: section
  key.path=value         overrides, applied before the sweep is expanded
  --slurm                submit to Slurm (required: the only scheduler kiln submits to)
  --partition P          #SBATCH --partition
  --time T               #SBATCH --time (e.g. 4:00:00)
  --gpus-per-task N      #SBATCH --gpus-per-task
  --max-parallel N       at most N tasks at once (--array=0-K%N)
  --signal SIG@SECONDS   signal before the time limit (default TERM@120)
  --sbatch-arg ARG       a further #SBATCH line, verbatim; repeatable (--sbatch-arg=--mem=8G)
  --import FILE          a plugin module every task loads (repeatable; see train --help)
  --runs DIR             root of run directories (default: runs)
  --dry-run              print the script; write and submit nothing
status summarises the array from squeue/sacct and the run directories.
  -h, --help             this help`;

async function submit(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs("sweep submit", args, {
    config: { type: "string" },
    slurm: { type: "boolean", default: false },
    partition: { type: "string" },
    time: { type: "string" },
    "gpus-per-task": { type: "string" },
    "max-parallel": { type: "string" },
    signal: { type: "string" },
    "sbatch-arg": { type: "string", multiple: true },
    import: { type: "string", multiple: true },
    runs: { type: "string", default: "runs" },
    "dry-run": { type: "boolean", default: false },
  });
  const bad = positionals.find((p) => !p.includes("="));
  if (bad) throw new UserError(`sweep submit: unexpected argument "${bad}"`);
  if (!values.config) throw new UserError("sweep submit: --config is required (see --help)");
  if (!values.slurm) throw new UserError("sweep submit: --slurm is required (see --help)");
  const positive = (name: string) => {
    if (values[name] === undefined) return undefined;
    const n = intFlag(name, values[name]);
    if (n < 1) throw new UserError(`--${name}: expected at least 1`);
    return n;
  };
  const result = await submitSweep({
    configPath: values.config as string,
    overrides: positionals,
    runsRoot: values.runs as string,
    partition: values.partition as string | undefined,
    time: values.time as string | undefined,
    gpusPerTask: positive("gpus-per-task"),
    maxParallel: positive("max-parallel"),
    signal: values.signal as string | undefined,
    sbatchArgs: values["sbatch-arg"] as string[] | undefined,
    imports: values.import as string[] | undefined,
    dryRun: values["dry-run"] as boolean,
  });
  if (typeof result === "string") {
    return void Deno.stdout.writeSync(new TextEncoder().encode(result));
  }
  console.log(
    `submitted sweep ${result.sweepId} (${result.points} points) as job ${result.jobId}; ` +
      `script and logs in ${result.dir}`,
  );
  console.log(result.jobId);
}

async function status(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs("sweep status", args, {
    runs: { type: "string", default: "runs" },
    json: { type: "boolean", default: false },
  });
  if (positionals.length !== 1) throw new UserError("sweep status: expected one sweep id");
  const s = await sweepStatus(values.runs as string, positionals[0]);
  console.log(values.json ? JSON.stringify(s, null, 2) : formatSweepStatus(s));
}

/** Runs the command with its CLI arguments. */
export async function main(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "-h" || sub === "--help" || rest.includes("--help")) {
    return console.log(HELP);
  }
  if (sub === "submit") return await submit(rest);
  if (sub === "status") return await status(rest);
  throw new UserError(`sweep: unknown subcommand "${sub}" (submit or status; see --help)`);
}

if (import.meta.main) await runCli(() => main(Deno.args));
