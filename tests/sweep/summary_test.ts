import assert from "node:assert/strict";
import { join } from "node:path";
import { assertOneLineError, runTool } from "../_support/cli.ts";
import { fixtureValLoss, writeFixtureRun } from "../viz/_fixture.ts";

const RUNS = [
  { experiment: "m", dirName: "20250101-000000-aaaa", steps: 200, lossScale: 1.2, lr: 1e-3 },
  { experiment: "m", dirName: "20250101-000001-bbbb", steps: 200, lossScale: 1.0, lr: 3e-3 },
  { experiment: "m", dirName: "20250101-000002-cccc", steps: 200 },
];

Deno.test("runs --sweep ID: only that sweep's runs, then varied keys by best val loss", async () => {
  const logdir = await Deno.makeTempDir();
  try {
    for (const [i, run] of RUNS.entries()) {
      const dir = await writeFixtureRun(logdir, run);
      if (i === 2) continue;
      const info = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
      Object.assign(info, {
        sweep_id: "m-0123456789ab",
        sweep_index: i,
        sweep: { "training.learning_rate": run.lr, seed: 7 },
      });
      await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(info));
    }
    const out = await runTool("runs", ["--logdir", logdir, "--sweep", "m-0123456789ab"]);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stdout, /cccc/);
    const table = out.stdout.split("sweep m-0123456789ab\n")[1].trim().split("\n")
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(table, [
      ["RUN", "STATUS", "training.learning_rate", "seed", "BEST VAL"],
      ["m/20250101-000001-bbbb", "finished", "0.003", "7", fixtureValLoss(RUNS[1], 200).toFixed(4)],
      ["m/20250101-000000-aaaa", "finished", "0.001", "7", fixtureValLoss(RUNS[0], 200).toFixed(4)],
    ]);
    assertOneLineError(
      await runTool("runs", ["--logdir", logdir, "--sweep", "nope"]),
      /--sweep: no runs of sweep "nope"/,
    );
  } finally {
    await Deno.remove(logdir, { recursive: true });
  }
});
