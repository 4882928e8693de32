import assert from "node:assert/strict";
import { formatRunsTable, listRuns } from "../../src/viz/runs_table.ts";
import { fixtureValLoss, writeFixtureRun } from "./_fixture.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";

const RUNS = [
  { experiment: "a", dirName: "20250101-000000-0001", steps: 300, created: "2025-01-01T00:00:00Z" },
  {
    experiment: "a",
    dirName: "20250103-000000-0002",
    steps: 100,
    lossScale: 0.5,
    created: "2025-01-03T00:00:00Z",
  },
  {
    experiment: "b",
    dirName: "20250102-000000-0003",
    steps: 500,
    lossScale: 2,
    created: "2025-01-02T00:00:00Z",
    status: "failed",
  },
  { experiment: "b", dirName: "20250104-000000-0004", steps: 50, created: "2025-01-04T00:00:00Z" },
];

async function fixtureLogdir(): Promise<string> {
  const logdir = await Deno.makeTempDir({ prefix: "kiln-runs-" });
  for (const run of RUNS) await writeFixtureRun(logdir, run);
  return logdir;
}

function runs(args: string[]) {
  return runTool("runs", args);
}

Deno.test("listRuns sorts by date, step and best val loss (runs without val loss last)", async () => {
  const logdir = await fixtureLogdir();
  const ids = async (sort: "date" | "step" | "loss") =>
    (await listRuns(logdir, { sort })).map((r) => r.id.slice(-4));
  assert.deepEqual(await ids("date"), ["0004", "0002", "0003", "0001"]);
  assert.deepEqual(await ids("step"), ["0003", "0001", "0002", "0004"]);
  // best val losses: 0002 at step 100 scaled 0.5, 0001 at 300, 0003 at 500 scaled 2; 0004 has none
  const byLoss = await listRuns(logdir, { sort: "loss" });
  assert.deepEqual(byLoss.map((r) => r.id.slice(-4)), ["0002", "0001", "0003", "0004"]);
  assert.equal(byLoss[0].best_val_loss, fixtureValLoss(RUNS[1], 100));
  assert.equal(byLoss[3].best_val_loss, null);
  assert.equal((await listRuns(logdir, { limit: 2 })).length, 2);
  const table = formatRunsTable(byLoss);
  assert.match(table.split("\n")[0], /^RUN\s+STATUS\s+STEP\s+BEST VAL/);
  assert.match(table, /b\/20250102-000000-0003\s+failed\s+500/);
});

Deno.test("deno task runs: --json, --limit, --help and one-line errors with exit 2", async () => {
  const logdir = await fixtureLogdir();
  const json = await runs(["--logdir", logdir, "--sort", "step", "--limit", "2", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout).map((r: { step: number }) => r.step), [500, 300]);
  const help = await runs(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--sort KEY/);
  for (
    const bad of [["--logdir", `${logdir}/nope`], ["--logdir", logdir, "--sort", "size"], [
      "--limit",
      "x",
    ]]
  ) {
    assertOneLineError(await runs(bad), /./);
  }
});
