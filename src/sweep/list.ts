/** `deno task train --list-sweep`: the points of a sweep as a table. */

import type { LoadedConfig } from "../config/load.ts";
import { pointName, pointOverrides } from "../config/sweep.ts";

/** One row of the listing. */
export interface SweepListing {
  index: number;
  name: string;
  overrides: string[];
}

/** The rows of `--list-sweep` for the configs of one file. */
export function sweepListing(configs: LoadedConfig[]): SweepListing[] {
  return configs.map((c, i) => ({
    index: c.sweepIndex ?? i,
    name: pointName(c.config.experiment_name, c.sweep),
    overrides: pointOverrides(c.sweep),
  }));
}

/** The listing as aligned text, headed by the sweep id and point count. */
export function formatSweepListing(configs: LoadedConfig[]): string {
  const rows = sweepListing(configs);
  const id = configs[0]?.sweepId;
  const head = id
    ? `sweep ${id}: ${rows.length} point${rows.length === 1 ? "" : "s"}`
    : "no sweep: section (one run)";
  const table = [
    ["INDEX", "RUN NAME", "OVERRIDES"],
    ...rows.map((r) => [
      String(r.index),
      r.name,
      r.overrides.join(" ") || "-",
    ]),
  ];
  const widths = [0, 1].map((c) => Math.max(...table.map((row) => row[c].length)));
  const lines = table.map((row) =>
    `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`.trimEnd()
  );
  return [head, ...lines].join("\n");
}
