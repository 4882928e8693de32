import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { resolveResumeTarget } from "../../src/train/checkpoint.ts";
import { readRunInfo } from "../../src/train/run_dir.ts";
import { stopExitCode, stopStatus } from "../../src/train/stop_signals.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { trainAndSignal } from "../_support/train_child.ts";
import { runCommand } from "../_support/cli.ts";

const gpu = await hasWebGpuAdapter();
const REPO = resolve(new URL("../..", import.meta.url).pathname);
const CORPUS = resolve(REPO, "../shared/data/tinyshakespeare.txt");

const CONFIG = `experiment_name: sig
data: { source: text, dataset: ${CORPUS} }
model: { vocab_size: 65, max_seq_len: 8, n_layer: 1, n_head: 1, d_model: 16 }
training: { batch_size: 2, max_steps: 100000, learning_rate: 0.001, eval_every: 0, log_every: 1 }
`;

/** Trains in `dir` until the first train line, then sends `signal`. */
async function trainUntilSignal(dir: string, signal: Deno.Signal) {
  await Deno.writeTextFile(join(dir, "c.yaml"), CONFIG);
  return await trainAndSignal(dir, "sig", signal);
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "SIGTERM and SIGHUP finish the step, checkpoint, mark the run and exit 143 / 129",
  async () => {
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const signals = ["SIGTERM", "SIGHUP"] as const;
      // Both children at once: each is mostly Deno start-up and shader compilation.
      const outs = await Promise.all(signals.map((s, i) => trainUntilSignal(dirs[i], s)));
      for (const [i, out] of outs.entries()) {
        const expected = ({ SIGTERM: [143, "preempted"], SIGHUP: [129, "stopped"] } as const)[
          signals[i]
        ];
        assert.equal(out.code, expected[0], `${signals[i]}: ${out.stderr}`);
        const info = await readRunInfo(out.runDir);
        assert.equal(info.status, expected[1]);
        assert.match(info.message ?? "", new RegExp(signals[i]));
        const latest = JSON.parse(
          await Deno.readTextFile(join(out.runDir, "checkpoints", "latest")),
        );
        assert.equal(latest.step, info.step, "the checkpoint is at the last finished step");
        assert.ok(latest.step >= 1 && latest.step < 100000);
        await resolveResumeTarget(out.runDir); // resumable
      }
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  },
);

Deno.test("stop signals: statuses and exit codes are the shell's 128 + signo", () => {
  assert.deepEqual(
    (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) => [stopStatus(s), stopExitCode(s)]),
    [["stopped", 0], ["preempted", 143], ["stopped", 129]],
  );
});

testNeeding(
  "a WebGPU adapter",
  gpu,
  "a SIGTERM during start-up (before the run listens) is held: one step, checkpoint, exit 143",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "c.yaml"), CONFIG);
      // A plugin is imported after the hold and before the device opens: the signal it sends
      // lands in start-up, where Deno's default action used to kill the process.
      await Deno.writeTextFile(
        join(dir, "early_term.ts"),
        'Deno.kill(Deno.pid, "SIGTERM");\nawait new Promise((r) => setTimeout(r, 50));\n',
      );
      const out = await runCommand(Deno.execPath(), [
        "run",
        "-A",
        join(REPO, "tools/train.ts"),
        "--config",
        "c.yaml",
        "--import",
        "early_term.ts",
        "--runs",
        "runs",
      ], { cwd: dir });
      assert.equal(out.code, 143, out.stderr);
      assert.match(out.stderr, /SIGTERM: stopping after the first step/);
      let runDir = "";
      for await (const e of Deno.readDir(join(dir, "runs", "sig"))) {
        runDir = join(dir, "runs", "sig", e.name);
      }
      const info = await readRunInfo(runDir);
      assert.equal(info.status, "preempted");
      assert.equal(info.step, 1);
      const latest = JSON.parse(await Deno.readTextFile(join(runDir, "checkpoints", "latest")));
      assert.equal(latest.step, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
