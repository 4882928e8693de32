/**
 * `deno task sweep submit --slurm`: a sweep as one Slurm job array. The sweep directory
 * (`<runs>/sweeps/<sweep id>/`) gets `sweep.yaml` (the config with its overrides applied),
 * `sweep.sbatch` (a plain script, runnable by hand with `sbatch`), `logs/point-<i>.log` and
 * `sweep.json` (job id, points). Array task i runs point i with `--resume-or-start`, so a task
 * that Slurm requeues (preemption, `scontrol requeue`, a node failure) continues its own run
 * from its last checkpoint. Nothing beyond `sbatch` and a shared filesystem is needed.
 *
 * @module
 */

import "../data/sources_all.ts";
import { join, resolve } from "node:path";
import { YAML } from "../deps.ts";
import { readConfigFile, resolveConfigs } from "../config/load.ts";
import { applyOverrides, parseOverride } from "../config/overrides.ts";
import { importPlugins } from "../plugins/imports.ts";
import { UserError } from "../util/errors.ts";
import { exists, writeJsonAtomic } from "../util/fs.ts";
import { sweepDir } from "./parallel.ts";
import { trainCommand } from "./train_command.ts";

/** What `sweep submit --slurm` was asked for. */
export interface SlurmOptions {
  partition?: string;
  /** `--time` (Slurm's formats: `MM`, `HH:MM:SS`, `D-HH`…). */
  time?: string;
  gpusPerTask?: number;
  /** At most this many array tasks at once (`--array=0-N%M`). */
  maxParallel?: number;
  /** `--signal` (default `TERM@120`: SIGTERM two minutes before the time limit). */
  signal?: string;
  /** Further `#SBATCH` lines, verbatim (`--account=x`, `--mem=8G`…). */
  sbatchArgs?: string[];
  /** Plugin modules (`--import`) every task loads; made absolute in the script. */
  imports?: string[];
}

/** Everything the script needs to know. */
export interface SbatchScriptInput extends SlurmOptions {
  sweepId: string;
  points: number;
  sweepDir: string;
  workdir: string;
  runsRoot: string;
  /** The train command (`[deno, "run", "-A", tools/train.ts]`, see train_command.ts). */
  train: string[];
  configSource: string;
}

const SIGNAL_RE = /^(B:)?[A-Z0-9]+(@\d+)?$/;

function quote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** The sbatch array script of a sweep. */
export function sbatchScript(s: SbatchScriptInput): string {
  const signal = s.signal ?? "TERM@120";
  if (!SIGNAL_RE.test(signal)) {
    throw new UserError(`--signal: expected SIG@SECONDS like TERM@120, found "${signal}"`);
  }
  // kiln runs as the batch shell itself (exec, no srun), so the signal must go to it: B:.
  const batchSignal = signal.startsWith("B:") ? signal : `B:${signal}`;
  const array = `0-${s.points - 1}${s.maxParallel ? `%${s.maxParallel}` : ""}`;
  const lines = [
    "#!/bin/bash",
    `# kiln sweep ${s.sweepId}: ${s.points} points of ${s.configSource}, one per array task.`,
    "# Written by `deno task sweep submit --slurm`; submit it again by hand with",
    `#   sbatch ${quote(join(s.sweepDir, "sweep.sbatch"))}`,
    "# or run one point here with SLURM_ARRAY_TASK_ID=<i> bash <this file>.",
    "# A requeued task resumes its own run from the last checkpoint (--resume-or-start).",
    `#SBATCH --job-name=kiln-${s.sweepId}`,
    `#SBATCH --array=${array}`,
    `#SBATCH --output=${join(s.sweepDir, "logs", "point-%a.log")}`,
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    `#SBATCH --signal=${batchSignal}`,
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    ...(s.time ? [`#SBATCH --time=${s.time}`] : []),
    ...(s.gpusPerTask ? [`#SBATCH --gpus-per-task=${s.gpusPerTask}`] : []),
    ...(s.sbatchArgs ?? []).map((a) => `#SBATCH ${a}`),
    "set -euo pipefail",
    `cd ${quote(s.workdir)}`,
    'echo "kiln: sweep point ${SLURM_ARRAY_TASK_ID} on $(hostname), restart ${SLURM_RESTART_COUNT:-0}"',
    `exec ${s.train.map(quote).join(" ")} \\`,
    `  --config ${quote(join(s.sweepDir, "sweep.yaml"))} \\`,
    ...(s.imports ?? []).map((file) => `  --import ${quote(resolve(file))} \\`),
    `  --runs ${quote(s.runsRoot)} --sweep-index "$SLURM_ARRAY_TASK_ID" \\`,
    "  --resume-or-start --no-progress",
    "",
  ];
  return lines.join("\n");
}

/** Where the program `name` is on PATH, or null. */
export async function which(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    try {
      const info = await Deno.stat(join(dir, name));
      if (info.isFile) return join(dir, name);
    } catch { /* not here */ }
  }
  return null;
}

/** What {@link submitSweep} returns. */
export interface Submitted {
  sweepId: string;
  jobId: string;
  points: number;
  dir: string;
}

/** Options of {@link submitSweep}. */
export interface SubmitOptions extends SlurmOptions {
  configPath: string;
  overrides: string[];
  runsRoot: string;
  /** Print the script instead of writing and submitting anything. */
  dryRun?: boolean;
}

/**
 * Validates the sweep, writes its directory and submits its array with `sbatch`. Every check
 * (sbatch present, configs valid, directory new) happens before anything is written.
 */
export async function submitSweep(opts: SubmitOptions): Promise<Submitted | string> {
  const sbatch = opts.dryRun ? "sbatch" : await which("sbatch");
  if (!sbatch) throw new UserError("--slurm: sbatch not found on PATH (is Slurm installed here?)");
  // the plugins first: their models, sources and keys must exist when the configs are validated
  await importPlugins(opts.imports ?? []);
  const tree = await readConfigFile(opts.configPath);
  applyOverrides(tree, opts.overrides.map(parseOverride));
  const configs = resolveConfigs(tree, [], opts.configPath);
  const sweepId = configs[0].sweepId;
  if (!sweepId) throw new UserError(`${opts.configPath}: no sweep: section to submit`);
  const runsRoot = resolve(opts.runsRoot);
  const dir = sweepDir(runsRoot, sweepId);
  const script = sbatchScript({
    ...opts,
    sweepId,
    points: configs.length,
    sweepDir: dir,
    workdir: Deno.cwd(),
    runsRoot,
    train: trainCommand(),
    configSource: opts.configPath,
  });
  if (opts.dryRun) return script;
  if (await exists(dir)) {
    throw new UserError(
      `sweep directory ${dir} exists (this sweep ran before): see deno task sweep status ` +
        `${sweepId}, or remove the directory to start over`,
    );
  }
  // Build the directory under a temporary name, then rename: never a half-written sweep.
  await Deno.mkdir(join(runsRoot, "sweeps"), { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: join(runsRoot, "sweeps"), prefix: `.${sweepId}-` });
  await Deno.mkdir(join(tmp, "logs"));
  await Deno.writeTextFile(join(tmp, "sweep.yaml"), YAML.stringify(tree, { lineWidth: 0 }));
  await Deno.writeTextFile(join(tmp, "sweep.sbatch"), script);
  await Deno.rename(tmp, dir);
  const out = await new Deno.Command(sbatch, {
    args: ["--parsable", join(dir, "sweep.sbatch")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
  if (!out.success) {
    await Deno.remove(dir, { recursive: true });
    throw new UserError(`sbatch refused the sweep: ${text.split("\n")[0]}`);
  }
  const jobId = text.split(";")[0];
  await writeJsonAtomic(join(dir, "sweep.json"), {
    id: sweepId,
    job_id: jobId,
    points: configs.length,
    config: opts.configPath,
    overrides: opts.overrides,
    submitted: new Date().toISOString(),
  });
  return { sweepId, jobId, points: configs.length, dir };
}
