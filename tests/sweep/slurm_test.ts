import assert from "node:assert/strict";
import { join } from "node:path";
import { sbatchScript } from "../../src/sweep/slurm.ts";
import { trainCommand } from "../../src/sweep/train_command.ts";
import { exists } from "../../src/util/fs.ts";
import { assertOneLineError, runCommand, runTool } from "../_support/cli.ts";

const INPUT = {
  sweepId: "m-0123456789ab",
  points: 4,
  sweepDir: "/data/runs/sweeps/m-0123456789ab",
  workdir: "/home/me/kiln dir",
  runsRoot: "/data/runs",
  train: ["/usr/bin/deno", "run", "-A", "/home/me/kiln/tools/train.ts"],
  configSource: "configs/m.yaml",
};

Deno.test("sbatch script: one array task per point, resume semantics, valid bash", async () => {
  const script = sbatchScript({
    ...INPUT,
    partition: "gpu",
    time: "4:00:00",
    gpusPerTask: 1,
    maxParallel: 2,
    sbatchArgs: ["--mem=8G"],
  });
  const sbatch = script.split("\n").filter((l) => l.startsWith("#SBATCH"));
  assert.deepEqual(sbatch, [
    "#SBATCH --job-name=kiln-m-0123456789ab",
    "#SBATCH --array=0-3%2",
    "#SBATCH --output=/data/runs/sweeps/m-0123456789ab/logs/point-%a.log",
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --signal=B:TERM@120",
    "#SBATCH --partition=gpu",
    "#SBATCH --time=4:00:00",
    "#SBATCH --gpus-per-task=1",
    "#SBATCH --mem=8G",
  ]);
  assert.match(script, /cd '\/home\/me\/kiln dir'\n/);
  assert.match(script, /\nexec \/usr\/bin\/deno run -A \/home\/me\/kiln\/tools\/train\.ts \\\n/);
  assert.match(script, /--sweep-index "\$SLURM_ARRAY_TASK_ID"/);
  assert.match(script, /--resume-or-start/);
  assert.match(sbatchScript({ ...INPUT, signal: "USR1@60" }), /--signal=B:USR1@60\n/);
  // plugins travel to every task as absolute paths
  const withPlugin = sbatchScript({ ...INPUT, imports: ["/home/me/plugins/relu.ts"] });
  assert.match(withPlugin, /\n {2}--import \/home\/me\/plugins\/relu\.ts \\\n {2}--runs /);
  assert.doesNotMatch(script, /--import/);
  assert.throws(() => sbatchScript({ ...INPUT, signal: "soon" }), /--signal: expected SIG@SECONDS/);
  // bash itself parses it.
  const file = await Deno.makeTempFile({ suffix: ".sbatch" });
  try {
    await Deno.writeTextFile(file, script);
    const check = await runCommand("bash", ["-n", file]);
    assert.equal(check.code, 0, check.stderr);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("the train command: this Deno running tools/train.ts, or the kiln binary's train", () => {
  const [deno, run, all, tool] = trainCommand("/usr/bin/deno");
  assert.deepEqual([deno, run, all], ["/usr/bin/deno", "run", "-A"]);
  assert.match(tool, /\/tools\/train\.ts$/);
  assert.deepEqual(trainCommand("/opt/bin/kiln"), ["/opt/bin/kiln", "train"]);
});

const CONFIG = `experiment_name: cli
data: { source: process, process: mess3, params: { x: 0.05, a: 0.85 }, bos: true }
model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 1, d_model: 16 }
training: { batch_size: 8, max_steps: 3, learning_rate: 0.001 }
sweep: { seed: [1, 2] }
`;

Deno.test("sweep CLIs: bad input is one line, exit 2, nothing written or submitted", async () => {
  const dir = await Deno.makeTempDir();
  const noTools = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "s.yaml"), CONFIG);
    const train = (args: string[], env?: Record<string, string>) =>
      runTool("train", ["--config", "s.yaml", "--runs", "out", ...args], { cwd: dir, env });
    assertOneLineError(
      await train(["--sweep-index", "2"]),
      /--sweep-index: index 2 is out of range \(the sweep has 2 points, 0-1\)/,
    );
    assertOneLineError(
      await train([], { SLURM_ARRAY_TASK_ID: "7" }),
      /SLURM_ARRAY_TASK_ID: index 7 is out of range/,
    );
    assertOneLineError(
      await train([
        "sweep.method=random",
        "sweep.samples=2",
        "sweep.training.learning_rate={log_uniform: [0, 1]}",
      ]),
      /sweep\.training\.learning_rate: log_uniform needs 0 < a < b, found \[0, 1\]/,
    );
    const listed = await train(["--list-sweep"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /\n0 +cli seed=1 +seed=1\n1 +cli seed=2 +seed=2\n$/);

    const submit = (args: string[], env?: Record<string, string>) =>
      runTool("sweep", ["submit", "--config", "s.yaml", "--runs", "out", ...args], {
        cwd: dir,
        env,
      });
    assertOneLineError(
      await submit(["--slurm"], { PATH: noTools }),
      /--slurm: sbatch not found on PATH/,
    );
    assertOneLineError(await submit([]), /--slurm is required/);
    assertOneLineError(await submit(["--slurm", "--max-parallel", "0"]), /at least 1/);
    assertOneLineError(
      await runTool("sweep", ["status", "nope", "--runs", "out"], { cwd: dir }),
      /no submitted sweep nope/,
    );
    assert.equal(await exists(join(dir, "out")), false, "nothing written");
    const dry = await submit(["--slurm", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^#!\/bin\/bash\n[\s\S]*#SBATCH --array=0-1\n/);
    assert.equal(await exists(join(dir, "out")), false, "a dry run writes nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(noTools, { recursive: true });
  }
});
