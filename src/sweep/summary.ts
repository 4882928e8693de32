/**
 * A sweep as a group: its runs (by the `sweep_id` in run.json) and a table of the keys its points
 * varied against each run's best validation loss, best first. `deno task runs --sweep ID` prints
 * it; the visualizer's sweep filter shows the same rows.
 *
 * @module
 */

import type { RunSummary } from "../viz/run_index.ts";

/** The table: the varied keys (columns) and one row per run, best val loss first. */
export interface SweepTable {
  keys: string[];
  rows: { path: string; status: string; values: unknown[]; best_val_loss: number | null }[];
}

/** Builds the varied-keys table of the runs of one sweep. */
export function sweepTable(runs: RunSummary[]): SweepTable {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.sweep ?? {})))];
  const rows = runs.map((r) => ({
    path: r.path,
    status: r.status,
    values: keys.map((k) => r.sweep?.[k] ?? null),
    best_val_loss: r.best_val_loss,
  }));
  rows.sort((a, b) =>
    a.best_val_loss === null
      ? (b.best_val_loss === null ? 0 : 1)
      : b.best_val_loss === null
      ? -1
      : a.best_val_loss - b.best_val_loss
  );
  return { keys, rows };
}

/** The table as aligned text. */
export function formatSweepTable(table: SweepTable): string {
  const cell = (v: unknown) =>
    v === null ? "–" : typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v);
  const lines = [
    ["RUN", "STATUS", ...table.keys, "BEST VAL"],
    ...table.rows.map((r) => [
      r.path,
      r.status,
      ...r.values.map(cell),
      r.best_val_loss === null ? "–" : r.best_val_loss.toFixed(4),
    ]),
  ];
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  return lines.map((l) => l.map((x, c) => x.padEnd(widths[c])).join("  ").trimEnd()).join("\n");
}
