/** `deno task runs`: the run list as a terminal table or JSON. */

import { UserError } from "../util/errors.ts";
import { RunIndex, type RunSummary } from "./run_index.ts";

/** Orders `deno task runs` knows. */
export const RUN_SORTS = ["date", "step", "loss"] as const;
/** One of `RUN_SORTS`. */
export type RunSort = typeof RUN_SORTS[number];

/**
 * Reads every run under `logdir` and returns their summaries sorted (`date`: newest first,
 * `step`: furthest first, `loss`: best val loss first, runs without one last), at most `limit`.
 */
export async function listRuns(
  logdir: string,
  opts: { sort?: RunSort; limit?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<RunSummary[]> {
  const info = await Deno.stat(logdir).catch(() => null);
  if (!info?.isDirectory) throw new UserError(`log directory not found: ${logdir}`);
  const index = new RunIndex(logdir);
  await index.refresh({ onProgress: opts.onProgress });
  const sorted = sortRuns(index.summaries(), opts.sort ?? "date");
  return opts.limit === undefined ? sorted : sorted.slice(0, Math.max(0, opts.limit));
}

/** Sorts run summaries by `sort` (see `listRuns`); ties keep directory order. */
export function sortRuns(runs: RunSummary[], sort: RunSort): RunSummary[] {
  const nullsLast = (a: number | null, b: number | null, dir: 1 | -1) =>
    a === null ? (b === null ? 0 : 1) : b === null ? -1 : dir * (a - b);
  const copy = [...runs];
  if (sort === "date") copy.sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
  if (sort === "step") copy.sort((a, b) => nullsLast(a.step, b.step, -1));
  if (sort === "loss") copy.sort((a, b) => nullsLast(a.best_val_loss, b.best_val_loss, 1));
  return copy;
}

/** Formats summaries as an aligned text table (one run per line). */
export function formatRunsTable(runs: RunSummary[]): string {
  const header = ["RUN", "STATUS", "STEP", "BEST VAL", "TRAIN LOSS", "TOKENS", "CREATED"];
  const rows = runs.map((r) => [
    r.path,
    r.status,
    r.step === null ? "-" : String(r.step),
    formatLoss(r.best_val_loss),
    formatLoss(r.last_train_loss),
    r.tokens === null ? "-" : formatCount(r.tokens),
    r.created?.replace("T", " ").slice(0, 19) ?? "-",
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => c >= 2 && c <= 5 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function formatLoss(v: number | null): string {
  return v === null ? "-" : v.toFixed(4);
}

/** 1234567 → "1.23M". */
export function formatCount(n: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of units) {
    if (Math.abs(n) >= size) return (n / size).toFixed(2) + suffix;
  }
  return String(n);
}
