/**
 * `deno task sweep status ID`: one line per sweep point from Slurm's view (`squeue`, and
 * `sacct` where accounting is on) and from the run directories (status, step, best val loss).
 *
 * @module
 */

import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { sweepRuns } from "./find_runs.ts";
import { sweepDir } from "./parallel.ts";
import { which } from "./slurm.ts";

/** One point of the sweep. */
export interface PointStatus {
  index: number;
  /** Slurm's state of its array task (PENDING, RUNNING, COMPLETED…), or null when unknown. */
  slurm: string | null;
  run: string | null;
  status: string | null;
  step: number | null;
  best_val_loss: number | null;
}

/** The whole sweep. */
export interface SweepStatus {
  id: string;
  jobId: string | null;
  points: PointStatus[];
}

async function lines(cmd: string, args: string[]): Promise<string[]> {
  const path = await which(cmd);
  if (!path) return [];
  const out = await new Deno.Command(path, { args, stdout: "piped", stderr: "null" }).output();
  if (!out.success) return [];
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter(Boolean);
}

/** Array task states by index: `sacct` first (it remembers ended tasks), then `squeue`. */
async function slurmStates(jobId: string): Promise<Map<number, string>> {
  const states = new Map<number, string>();
  for (const l of await lines("sacct", ["-n", "-P", "-X", "-j", jobId, "-o", "JobID,State"])) {
    const [id, state] = l.split("|");
    const m = id.match(/_(\d+)$/);
    if (m) states.set(Number(m[1]), state.split(" ")[0]);
  }
  for (const l of await lines("squeue", ["-h", "-r", "-t", "all", "-j", jobId, "-o", "%K|%T"])) {
    const [index, state] = l.split("|");
    if (/^\d+$/.test(index)) states.set(Number(index), state);
  }
  return states;
}

/** Reads the sweep's directory, its runs and Slurm's view of its array. */
export async function sweepStatus(runsRoot: string, id: string): Promise<SweepStatus> {
  let meta: { job_id?: string; points?: number };
  try {
    meta = JSON.parse(await Deno.readTextFile(join(sweepDir(runsRoot, id), "sweep.json")));
  } catch {
    throw new UserError(`no submitted sweep ${id} under ${join(runsRoot, "sweeps")}`);
  }
  const jobId = meta.job_id ?? null;
  const states = jobId ? await slurmStates(jobId) : new Map<number, string>();
  const runs = await sweepRuns(runsRoot, id);
  const points = Array.from({ length: meta.points ?? 0 }, (_, index): PointStatus => {
    const run = runs.filter((r) => r.info.sweep_index === index).at(-1);
    return {
      index,
      slurm: states.get(index) ?? null,
      run: run?.dir ?? null,
      status: run?.info.status ?? null,
      step: typeof run?.info.step === "number" ? run.info.step : null,
      best_val_loss: typeof run?.info.best_val_loss === "number" ? run.info.best_val_loss : null,
    };
  });
  return { id, jobId, points };
}

/** The status as text: a summary line, then a table. */
export function formatSweepStatus(s: SweepStatus): string {
  const counts = new Map<string, number>();
  for (const p of s.points) {
    const k = p.status ?? (p.slurm ?? "not started").toLowerCase();
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const head = `sweep ${s.id}: job ${s.jobId ?? "?"}, ${s.points.length} points: ` +
    [...counts].map(([k, n]) => `${n} ${k}`).join(", ");
  const table = [
    ["INDEX", "SLURM", "STATUS", "STEP", "BEST VAL", "RUN"],
    ...s.points.map((p) => [
      String(p.index),
      p.slurm ?? "-",
      p.status ?? "-",
      p.step === null ? "-" : String(p.step),
      p.best_val_loss === null ? "-" : p.best_val_loss.toFixed(4),
      p.run ?? "-",
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  return [head, ...table.map((r) => r.map((x, c) => x.padEnd(widths[c])).join("  ").trimEnd())]
    .join("\n");
}
