import assert from "node:assert/strict";
import "../../src/data/sources_all.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import { formatSweepListing, sweepListing } from "../../src/sweep/list.ts";
import { requestedSweepIndex, selectSweepPoint } from "../../src/sweep/select.ts";
import { takeSweepFlags } from "../../src/sweep/train_flags.ts";

const RAW = {
  experiment_name: "sel",
  data: { source: "process", process: "mess3", params: { x: 0.05, a: 0.85 }, bos: true },
  model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 1, d_model: 16 },
  training: { batch_size: 8, max_steps: 3, learning_rate: 0.001 },
  sweep: { training: { learning_rate: [0.001, 0.003] }, seed: [1, 2] },
};

Deno.test("sweep points: listed in cartesian order with their overrides and one sweep id", () => {
  const configs = resolveConfigs(structuredClone(RAW), [], "sel.yaml");
  assert.deepEqual(sweepListing(configs).map((r) => r.overrides), [
    ["training.learning_rate=0.001", "seed=1"],
    ["training.learning_rate=0.001", "seed=2"],
    ["training.learning_rate=0.003", "seed=1"],
    ["training.learning_rate=0.003", "seed=2"],
  ]);
  assert.equal(new Set(configs.map((c) => c.sweepId)).size, 1);
  assert.deepEqual(configs.map((c) => c.sweepIndex), [0, 1, 2, 3]);
  assert.equal(configs[3].config.training.learning_rate, 0.003);
  assert.equal(configs[3].config.seed, 2);
  const text = formatSweepListing(configs);
  assert.match(text, new RegExp(`^sweep ${configs[0].sweepId}: 4 points`));
  assert.match(
    text,
    /\n3 +sel learning_rate=0\.003,seed=2 +training\.learning_rate=0\.003 seed=2$/,
  );
  // An override of the file changes the sweep (and so its id).
  const other = resolveConfigs(structuredClone(RAW), ["training.batch_size=4"], "sel.yaml");
  assert.notEqual(other[0].sweepId, configs[0].sweepId);
});

Deno.test("sweep index: flag, then KILN_SWEEP_INDEX, then SLURM_ARRAY_TASK_ID (sweeps only)", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const both = env({ KILN_SWEEP_INDEX: "1", SLURM_ARRAY_TASK_ID: "2" });
  assert.deepEqual(requestedSweepIndex("0", true, both), { index: 0, source: "--sweep-index" });
  assert.deepEqual(requestedSweepIndex(undefined, true, both), {
    index: 1,
    source: "KILN_SWEEP_INDEX",
  });
  const slurm = env({ SLURM_ARRAY_TASK_ID: "2" });
  assert.equal(requestedSweepIndex(undefined, true, slurm)?.index, 2);
  assert.equal(requestedSweepIndex(undefined, false, slurm), undefined);
  assert.throws(() => requestedSweepIndex("-1", true, env({})), /expected a sweep point index/);

  const configs = resolveConfigs(structuredClone(RAW), [], "sel.yaml");
  assert.equal(selectSweepPoint(configs, { index: 2, source: "x" })[0].sweepIndex, 2);
  assert.throws(
    () => selectSweepPoint(configs, { index: 4, source: "--sweep-index" }),
    /--sweep-index: index 4 is out of range \(the sweep has 4 points, 0-3\)/,
  );
  const { sweep: _, ...plain } = structuredClone(RAW);
  assert.throws(
    () => selectSweepPoint(resolveConfigs(plain, [], "p"), { index: 0, source: "--sweep-index" }),
    /has no sweep: section/,
  );
});

Deno.test("train's sweep flags are split off the experiment arguments", () => {
  const f = takeSweepFlags(["--config", "c.yaml", "--sweep-index=3", "--parallel", "2", "seed=1"]);
  assert.deepEqual(f, {
    rest: ["--config", "c.yaml", "seed=1"],
    listSweep: false,
    resumeOrStart: false,
    sweepIndex: "3",
    parallel: 2,
  });
  assert.throws(() => takeSweepFlags(["--parallel", "0"]), /at least 1/);
  assert.throws(() => takeSweepFlags(["--sweep-index"]), /needs a value/);
});
