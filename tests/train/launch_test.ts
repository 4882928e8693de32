import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { launchTraining } from "../../src/train/launch.ts";
import { readRunInfo } from "../../src/train/run_dir.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { trainAndSignal } from "../_support/train_child.ts";

const gpu = await hasWebGpuAdapter();
const REPO = resolve(new URL("../..", import.meta.url).pathname);
const CORPUS = resolve(REPO, "../shared/data/tinyshakespeare.txt");

function configText(extra = ""): string {
  return `experiment_name: launch
data: { source: text, dataset: ${CORPUS} }
model: { vocab_size: 65, max_seq_len: 8, n_layer: 1, n_head: 1, d_model: 16 }
training: { batch_size: 2, max_steps: 2, learning_rate: 0.001, eval_every: 0, log_every: 1 }
${extra}`;
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "a sweep trains every combination, each in its own run",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "s.yaml"), configText("sweep: { seed: [1, 2] }\n"));
      const results = await launchTraining({
        configPath: join(dir, "s.yaml"),
        overrides: ["training.max_steps=1"],
        runsRoot: join(dir, "runs"),
        trainOptions: { progress: false },
      });
      assert.deepEqual(results.map((r) => [r.status, r.steps]), [["finished", 1], ["finished", 1]]);
      const infos = await Promise.all(results.map((r) => readRunInfo(r.dir)));
      assert.deepEqual(infos.map((i) => i.sweep), [{ seed: 1 }, { seed: 2 }]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "Ctrl-C (SIGINT) finishes the step, checkpoints and marks the run stopped",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "c.yaml"), configText());
      const out = await trainAndSignal(dir, "launch", "SIGINT", ["training.max_steps=100000"]);
      const { stdout, runDir } = out;
      assert.equal(out.code, 0, out.stderr);
      assert.match(stdout, /stopped at step \d+/);
      const info = await readRunInfo(runDir);
      assert.equal(info.status, "stopped");
      const latest = JSON.parse(await Deno.readTextFile(join(runDir, "checkpoints", "latest")));
      assert.equal(latest.step, info.step);
      assert.ok(latest.step >= 1 && latest.step < 100000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
