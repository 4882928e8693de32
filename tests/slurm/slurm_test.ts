/**
 * A real Slurm (one node on localhost: .ci/slurm_up.sh): a sweep through `deno task sweep submit
 * --slurm`, and a requeued task that resumes its own run bit for bit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseJsonLines } from "../../src/util/fs.ts";
import { runCommand, runTool } from "../_support/cli.ts";
import { commandSucceeds, testNeeding } from "../_support/env.ts";

const slurm = await commandSucceeds("sinfo", ["-h"]) && await commandSucceeds("sbatch", ["-V"]);

function configText(name: string, steps: number, sweep: string): string {
  return `experiment_name: ${name}
seed: 3
data: { source: process, process: mess3, params: { x: 0.05, a: 0.85 }, bos: true }
model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 1, d_model: 16 }
training: { batch_size: 8, max_steps: ${steps}, learning_rate: 0.003, eval_every: 0, log_every: 1, checkpoint_every: 0 }
sweep: ${sweep}
`;
}

type Info = Record<string, unknown>;

async function runInfos(root: string): Promise<{ dir: string; info: Info }[]> {
  const out: { dir: string; info: Info }[] = [];
  const names = async (d: string) => {
    try {
      return (await Array.fromAsync(Deno.readDir(d))).filter((e) => e.isDirectory).map((e) =>
        e.name
      );
    } catch {
      return [];
    }
  };
  for (const exp of await names(root)) {
    if (exp === "sweeps") continue;
    for (const run of await names(join(root, exp))) {
      const dir = join(root, exp, run);
      try {
        out.push({ dir, info: JSON.parse(await Deno.readTextFile(join(dir, "run.json"))) });
      } catch { /* being written */ }
    }
  }
  return out;
}

/** Polls `check` every 200 ms until it returns a value, or fails after `seconds`. */
async function waitFor<T>(what: string, seconds: number, check: () => Promise<T | null>) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

async function submit(dir: string): Promise<string> {
  const out = await runTool(
    "sweep",
    ["submit", "--config", "s.yaml", "--slurm", "--runs", "runs"],
    {
      cwd: dir,
    },
  );
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n").at(-1)!;
}

function trainLosses(text: string): [number, number][] {
  return parseJsonLines<{ type: string; step: number; loss: number }>(text)
    .filter((l) => l.type === "train").map((l) => [l.step, l.loss]);
}

testNeeding(
  "a running Slurm (.ci/slurm_up.sh)",
  slurm,
  "slurm: a 4-point sweep runs as one array: 4 finished runs, their overrides, one sweep id",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "kiln-slurm-test-" });
    let job = "";
    try {
      const sweep = "{ training: { learning_rate: [0.001, 0.003] }, seed: [1, 2] }";
      await Deno.writeTextFile(join(dir, "s.yaml"), configText("slurm4", 3, sweep));
      job = await submit(dir);
      assert.match(job, /^\d+$/);
      const runs = await waitFor("4 finished runs", 80, async () => {
        const infos = await runInfos(join(dir, "runs"));
        return infos.filter((r) => r.info.status === "finished").length === 4 ? infos : null;
      });
      assert.equal(new Set(runs.map((r) => r.info.sweep_id)).size, 1);
      const byIndex = runs.sort((a, b) => Number(a.info.sweep_index) - Number(b.info.sweep_index));
      assert.deepEqual(byIndex.map((r) => r.info.sweep), [
        { "training.learning_rate": 0.001, seed: 1 },
        { "training.learning_rate": 0.001, seed: 2 },
        { "training.learning_rate": 0.003, seed: 1 },
        { "training.learning_rate": 0.003, seed: 2 },
      ]);
      // The values reached the configs each task trained with.
      for (const r of byIndex) {
        const cfg = await Deno.readTextFile(join(r.dir, "config.yaml"));
        const point = r.info.sweep as Record<string, number>;
        assert.match(cfg, new RegExp(`learning_rate: ${point["training.learning_rate"]}\\n`));
        assert.match(cfg, new RegExp(`^seed: ${point.seed}$`, "m"));
      }
      const id = String(runs[0].info.sweep_id);
      const sbatch = await Deno.readTextFile(join(dir, "runs", "sweeps", id, "sweep.sbatch"));
      assert.match(sbatch, /#SBATCH --array=0-3\n/);
      const status = await runTool("sweep", ["status", id, "--runs", "runs"], { cwd: dir });
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`sweep ${id}: job ${job}, 4 points: 4 finished`));
      // Submitting the same sweep again: its directory exists, nothing is submitted.
      const again = await runTool("sweep", [
        "submit",
        "--config",
        "s.yaml",
        "--slurm",
        "--runs",
        "runs",
      ], {
        cwd: dir,
      });
      assert.equal(again.code, 2);
      assert.match(again.stderr, /^error: sweep directory .* exists/);
    } finally {
      if (job) await runCommand("scancel", [job]);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testNeeding(
  "a running Slurm (.ci/slurm_up.sh)",
  slurm,
  "slurm: a requeued task resumes its run from the checkpoint; losses equal an uninterrupted run's",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "kiln-slurm-test-" });
    let job = "";
    try {
      await Deno.writeTextFile(join(dir, "s.yaml"), configText("requeue", 30, "{ seed: [4] }"));
      job = await submit(dir);
      // The same point trained without interruption, alongside (outside Slurm).
      const reference = runTool(
        "train",
        ["--config", "s.yaml", "--sweep-index", "0", "--runs", "ref", "--no-progress"],
        { cwd: dir },
      );
      const run = await waitFor("the task's first steps", 60, async () => {
        const [r] = await runInfos(join(dir, "runs"));
        const text = r && await Deno.readTextFile(join(r.dir, "metrics.jsonl")).catch(() => "");
        return text && trainLosses(text).length >= 3 ? r : null;
      });
      const requeue = await runCommand("scontrol", ["requeue", `${job}_0`]);
      assert.equal(requeue.code, 0, requeue.stderr);
      // Slurm sends SIGTERM: the run checkpoints and is marked preempted.
      const preempted = await waitFor("the preempted run", 30, async () => {
        const info = JSON.parse(await Deno.readTextFile(join(run.dir, "run.json")));
        return info.status === "preempted" ? info : null;
      });
      assert.ok(preempted.step >= 3 && preempted.step < 30, `stopped at ${preempted.step}`);
      // A requeued job waits two minutes to become eligible; let it start now.
      const release = await runCommand("scontrol", ["update", `jobid=${job}_0`, "StartTime=now"]);
      assert.equal(release.code, 0, release.stderr);
      await waitFor("the resumed run to finish", 60, async () => {
        const info = JSON.parse(await Deno.readTextFile(join(run.dir, "run.json")));
        return info.status === "finished" ? info : null;
      });
      assert.equal((await runInfos(join(dir, "runs"))).length, 1, "the task continued its run");
      const resumed = await Deno.readTextFile(join(run.dir, "metrics.jsonl"));
      assert.match(
        resumed,
        new RegExp(`"event":"resume","detail":"from [^"]*step_${preempted.step} `),
      );
      const ref = await reference;
      assert.equal(ref.code, 0, ref.stderr);
      const [refRun] = await runInfos(join(dir, "ref"));
      const expected = trainLosses(await Deno.readTextFile(join(refRun.dir, "metrics.jsonl")));
      assert.equal(expected.length, 30);
      assert.deepEqual(trainLosses(resumed), expected, "bit-identical losses");
      const log = await Deno.readTextFile(
        join(dir, "runs", "sweeps", String(run.info.sweep_id), "logs", "point-0.log"),
      );
      assert.match(log, /restart 0[\s\S]*preempted[\s\S]*restart 1[\s\S]*finished at step 30/);
    } finally {
      if (job) await runCommand("scancel", [job]);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
