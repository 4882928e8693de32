import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { resolveResumeTarget } from "../../src/train/checkpoint.ts";
import { resolveLaunch } from "../../src/train/launch.ts";
import { sweepRuns } from "../../src/sweep/find_runs.ts";
import { runTool } from "../_support/cli.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const gpu = await hasWebGpuAdapter();
const TRAIN = resolve(new URL("../../tools/train.ts", import.meta.url).pathname);

function configText(steps: number): string {
  return `experiment_name: par
seed: 3
data: { source: process, process: mess3, params: { x: 0.05, a: 0.85 }, bos: true }
model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 1, d_model: 16 }
training: { batch_size: 8, max_steps: ${steps}, learning_rate: 0.003, eval_every: 0, log_every: 1 }
sweep: { training: { learning_rate: [0.001, 0.003] }, seed: [1, 2] }
`;
}

async function sweepIdOf(dir: string): Promise<string> {
  const list = await runTool("train", ["--config", "s.yaml", "--list-sweep"], { cwd: dir });
  assert.equal(list.code, 0, list.stderr);
  return list.stdout.match(/^sweep (\S+): 4 points/)![1];
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "--parallel 2 trains a 4-point sweep as child processes: 4 finished runs, one log each",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "s.yaml"), configText(3));
      const out = await runTool("train", [
        "--config",
        "s.yaml",
        "--parallel",
        "2",
        "--runs",
        "runs",
      ], {
        cwd: dir,
      });
      assert.equal(out.code, 0, out.stderr);
      const id = await sweepIdOf(dir);
      const runs = await sweepRuns(join(dir, "runs"), id);
      assert.deepEqual(runs.map((r) => r.info.status), Array(4).fill("finished"));
      assert.deepEqual(runs.map((r) => r.info.sweep_index).sort(), [0, 1, 2, 3]);
      for (let i = 0; i < 4; i++) {
        const log = await Deno.readTextFile(join(dir, "runs/sweeps", id, `logs/point-${i}.log`));
        assert.match(log, /finished at step 3/);
        assert.match(out.stdout, new RegExp(`^\\[${i}\\] exit 0: `, "m"));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "--parallel 2: SIGINT to the parent leaves every started run stopped and resumable",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "s.yaml"), configText(100000));
      const id = await sweepIdOf(dir);
      const parent = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", TRAIN, "--config", "s.yaml", "--parallel", "2", "--runs", "runs"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Interrupt once both children are training (each has a train line).
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        const runs = await sweepRuns(join(dir, "runs"), id).catch(() => []);
        const texts = await Promise.all(
          runs.map((r) => Deno.readTextFile(join(r.dir, "metrics.jsonl")).catch(() => "")),
        );
        if (texts.length === 2 && texts.every((t) => t.includes('"train"'))) break;
      }
      parent.kill("SIGINT");
      const out = await parent.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const runs = await sweepRuns(join(dir, "runs"), id);
      assert.equal(runs.length, 2, "no point starts after the interrupt");
      for (const r of runs) {
        assert.equal(r.info.status, "stopped");
        const latest = JSON.parse(await Deno.readTextFile(join(r.dir, "checkpoints", "latest")));
        assert.equal(latest.step, r.info.step);
        await resolveResumeTarget(r.dir);
        // `--sweep-index I --resume-or-start` finds this run again.
        const launch = await resolveLaunch({
          configPath: join(dir, "s.yaml"),
          overrides: [],
          runsRoot: join(dir, "runs"),
          resume: { orStart: true },
          sweepIndex: { index: r.info.sweep_index!, source: "test" },
        });
        assert.equal(launch.resumePath, r.dir);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
