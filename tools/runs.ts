/** `deno task runs`: list training runs with status, step and best validation loss. */

import { intFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import { importPlugins } from "../src/plugins/imports.ts";
import { UserError } from "../src/util/errors.ts";
import { ProgressBar } from "../src/util/progress.ts";
import { formatSweepTable, sweepTable } from "../src/sweep/summary.ts";
import { formatRunsTable, listRuns, RUN_SORTS, type RunSort } from "../src/viz/runs_table.ts";

const HELP =
  `deno task runs [--logdir runs] [--sort date|step|loss] [--limit N] [--json] [--sweep ID]

Lists the runs under the log directory: path, status, step, best validation loss,
last train loss, tokens seen, creation time.

  --logdir DIR   directory holding runs/<experiment>/<run>/ (default: runs)
  --sort KEY     date (newest first, default), step (furthest first), loss (best val loss first)
  --limit N      show at most N runs
  --json         print the run summaries as JSON instead of a table
  --sweep ID     only the runs of sweep ID (run.json's sweep_id), then a table of the keys
                 the sweep varied against best val loss, best first
  --import FILE  plugin module to load first (repeatable)
  --help         show this help`;

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs("runs", args, {
    logdir: { type: "string", default: "runs" },
    sort: { type: "string", default: "date" },
    limit: { type: "string" },
    json: { type: "boolean", default: false },
    sweep: { type: "string" },
    import: { type: "string", multiple: true },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return console.log(HELP);
  await importPlugins((values.import as string[] | undefined) ?? []);
  const sort = values.sort as string;
  if (!(RUN_SORTS as readonly string[]).includes(sort)) {
    throw new UserError(`--sort: expected one of ${RUN_SORTS.join(", ")}, found "${sort}"`);
  }
  const limit = values.limit === undefined ? undefined : intFlag("limit", values.limit);
  if (limit !== undefined && limit < 1) throw new UserError("--limit: expected at least 1");
  let bar: ProgressBar | undefined;
  let runs = await listRuns(values.logdir as string, {
    sort: sort as RunSort,
    limit,
    onProgress: (done, total) => {
      bar ??= new ProgressBar({ total, label: "reading runs" });
      bar.update(done);
    },
  });
  bar?.done();
  const sweep = values.sweep as string | undefined;
  if (sweep !== undefined) {
    runs = runs.filter((r) => r.sweep_id === sweep);
    if (runs.length === 0) {
      throw new UserError(`--sweep: no runs of sweep "${sweep}" under ${values.logdir}`);
    }
    if (values.json) return console.log(JSON.stringify({ runs, table: sweepTable(runs) }, null, 2));
    return console.log(`${formatRunsTable(runs)}

sweep ${sweep}
${formatSweepTable(sweepTable(runs))}`);
  }
  if (values.json) return console.log(JSON.stringify(runs, null, 2));
  console.log(runs.length === 0 ? `no runs under ${values.logdir}` : formatRunsTable(runs));
}

if (import.meta.main) await runCli(() => main(Deno.args));
