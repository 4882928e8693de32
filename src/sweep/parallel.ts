/**
 * `deno task train --config x.yaml --parallel N`: the points of a sweep as N child processes at
 * a time, each `deno task train --sweep-index I` with its own run directory and a log file in
 * the sweep directory (`<runs>/sweeps/<sweep id>/logs/point-<I>.log`). A combined progress bar
 * follows the children through their metrics.jsonl; SIGINT/SIGTERM/SIGHUP to the parent is
 * passed on to every running child (each finishes its step, checkpoints and ends stopped or
 * preempted) and no further point starts.
 *
 * @module
 */

import { join } from "node:path";
import { listenForStopSignals, stopExitCode, type StopSignal } from "../train/stop_signals.ts";
import { ProgressBar } from "../util/progress.ts";
import { sweepRuns } from "./find_runs.ts";
import { trainCommand } from "./train_command.ts";

/** Options of {@link runParallel}. */
export interface ParallelOptions {
  configPath: string;
  overrides: string[];
  /** Plugin modules each child imports (`--import`). */
  imports?: string[];
  runsRoot: string;
  sweepId: string;
  /** The points to train, in order. */
  indices: number[];
  /** How many children at once. */
  parallel: number;
  /** Pass `--resume-or-start` to the children (continue each point's own run). */
  resumeOrStart?: boolean;
  /** false: no combined progress bar (default: on a terminal). */
  progress?: false;
  /** Where the per-point end lines go (default console.log). */
  log?: (line: string) => void;
}

/** How one point's child process ended. */
export interface PointExit {
  index: number;
  code: number;
  logFile: string;
}

/** What {@link runParallel} returns: each started point's exit, and the signal that stopped it. */
export interface ParallelResult {
  exits: PointExit[];
  signal: StopSignal | null;
}

/** The directory of a sweep's own files (logs, the Slurm script): `<runs>/sweeps/<id>`. */
export function sweepDir(runsRoot: string, id: string): string {
  return join(runsRoot, "sweeps", id);
}

/** Runs the sweep's points as child processes, at most `parallel` at once. */
export async function runParallel(opts: ParallelOptions): Promise<ParallelResult> {
  const log = opts.log ?? console.log;
  const logs = join(sweepDir(opts.runsRoot, opts.sweepId), "logs");
  await Deno.mkdir(logs, { recursive: true });
  const queue = [...opts.indices];
  const running = new Map<number, Deno.ChildProcess>();
  const exits: PointExit[] = [];
  let signal: StopSignal | null = null;
  const removeSignals = listenForStopSignals((sig) => {
    signal ??= sig;
    for (const child of running.values()) {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    }
  });
  const bar = new ProgressBar({
    total: opts.indices.length,
    label: `sweep ×${opts.parallel}`,
    enabled: opts.progress === false ? false : undefined,
  });
  const progress = setInterval(async () => {
    if (!bar.enabled) return;
    const fractions = await pointFractions(opts.runsRoot, opts.sweepId, [...running.keys()]);
    const done = exits.length + [...fractions.values()].reduce((a, b) => a + b, 0);
    const status = [...fractions].map(([i, f]) => `#${i} ${(f * 100).toFixed(0)}%`).join(" ");
    bar.update(Number(done.toFixed(2)), status);
  }, 500);

  const start = async (index: number): Promise<void> => {
    const logFile = join(logs, `point-${index}.log`);
    const files = await Promise.all(
      [0, 1].map(() => Deno.open(logFile, { write: true, create: true, append: true })),
    );
    const [program, ...train] = trainCommand();
    const child = new Deno.Command(program, {
      args: [
        ...train,
        "--config",
        opts.configPath,
        ...opts.overrides,
        ...(opts.imports ?? []).flatMap((file) => ["--import", file]),
        "--sweep-index",
        String(index),
        "--runs",
        opts.runsRoot,
        "--no-progress",
        ...(opts.resumeOrStart ? ["--resume-or-start"] : []),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    running.set(index, child);
    const piped = Promise.all([
      child.stdout.pipeTo(files[0].writable),
      child.stderr.pipeTo(files[1].writable),
    ]);
    const { code } = await child.status;
    await piped.catch(() => {});
    running.delete(index);
    exits.push({ index, code, logFile });
    const last = (await Deno.readTextFile(logFile)).trim().split("\n").at(-1) ?? "";
    log(`[${index}] exit ${code}: ${last}`);
  };

  try {
    const workers = Array.from({ length: Math.min(opts.parallel, queue.length) }, async () => {
      while (queue.length > 0 && signal === null) await start(queue.shift()!);
    });
    await Promise.all(workers);
  } finally {
    clearInterval(progress);
    removeSignals();
    bar.done();
  }
  exits.sort((a, b) => a.index - b.index);
  return { exits, signal };
}

/** How far each running point is (0..1), from the last step in its metrics.jsonl. */
async function pointFractions(
  root: string,
  id: string,
  indices: number[],
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const runs = await sweepRuns(root, id).catch(() => []);
  for (const index of indices) {
    const run = runs.filter((r) => r.info.sweep_index === index).at(-1);
    const total = Number(run?.info.total_steps ?? 0);
    let step = 0;
    try {
      const text = await Deno.readTextFile(join(run!.dir, "metrics.jsonl"));
      const last = text.trimEnd().split("\n").at(-1);
      step = last ? Number(JSON.parse(last).step ?? 0) : 0;
    } catch { /* not started yet */ }
    out.set(index, total > 0 ? Math.min(1, step / total) : 0);
  }
  return out;
}

/** The exit code the parent ends with: the stop signal's, or 1 when a point failed. */
export function parallelExitCode(result: ParallelResult): number {
  if (result.signal) return stopExitCode(result.signal);
  return result.exits.some((e) => e.code !== 0) ? 1 : 0;
}
