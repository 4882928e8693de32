/**
 * A 4-point mess3 sweep three ways: serial (one `deno task train` process, runs in turn),
 * `--parallel 2` (two child processes at a time) and a Slurm job array (`deno task sweep submit
 * --slurm`, on the one-node Slurm of .ci/slurm_up.sh; skipped when there is none). For each: the
 * wall time from launch to the fourth finished run, the sum of step times the runs logged, and
 * the load average. Run: `deno run -A bench/sweep_modes.ts [steps]`.
 */

import { join, resolve } from "node:path";
import { parseJsonLines } from "../src/util/fs.ts";

const STEPS = Number(Deno.args[0] ?? 150);
const TOOLS = resolve(new URL("../tools", import.meta.url).pathname);

const CONFIG = `experiment_name: bench_sweep
seed: 1
data: { source: process, process: mess3, params: { x: 0.05, a: 0.85 }, bos: true }
model: { vocab_size: 4, max_seq_len: 6, n_layer: 2, n_head: 2, d_model: 32 }
training: { batch_size: 32, max_steps: ${STEPS}, learning_rate: 0.003, eval_every: 0, log_every: 10, checkpoint_every: 0 }
sweep: { training: { learning_rate: [0.001, 0.003] }, seed: [1, 2] }
`;

interface ModeResult {
  mode: string;
  wallS: number;
  stepS: number;
  load: string;
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** Finished runs under `root` and the sum of their logged step times (seconds). */
async function finished(root: string): Promise<{ count: number; stepS: number }> {
  let count = 0, stepS = 0;
  const dirs = async (d: string) => {
    try {
      return (await Array.fromAsync(Deno.readDir(d))).filter((e) => e.isDirectory).map((e) =>
        e.name
      );
    } catch {
      return [];
    }
  };
  for (const name of await dirs(join(root, "bench_sweep"))) {
    const dir = join(root, "bench_sweep", name);
    try {
      const info = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
      if (info.status !== "finished") continue;
      count++;
      let prev = 0;
      const lines = parseJsonLines<{ type: string; step: number; step_ms: number }>(
        await Deno.readTextFile(join(dir, "metrics.jsonl")),
      );
      for (const l of lines.filter((l) => l.type === "train")) {
        stepS += (l.step - prev) * l.step_ms / 1000;
        prev = l.step;
      }
    } catch { /* being written */ }
  }
  return { count, stepS };
}

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

async function mode(name: string, cwd: string, launch: (root: string) => Promise<void>) {
  const root = join(cwd, name);
  const t0 = performance.now();
  await launch(root);
  let f = await finished(root);
  while (f.count < 4) {
    await new Promise((r) => setTimeout(r, 200));
    f = await finished(root);
  }
  const result = {
    mode: name,
    wallS: (performance.now() - t0) / 1000,
    stepS: f.stepS,
    load: load(),
  };
  console.log(
    `${name.padEnd(9)} wall ${result.wallS.toFixed(1).padStart(6)} s  Σ step ${
      result.stepS.toFixed(1).padStart(6)
    } s  load ${result.load}`,
  );
  return result;
}

async function hasSlurm(): Promise<boolean> {
  try {
    return (await new Deno.Command("sinfo", { args: ["-h"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "kiln-sweep-bench-" });
  try {
    await Deno.writeTextFile(join(dir, "s.yaml"), CONFIG);
    const deno = Deno.execPath();
    const train = join(TOOLS, "train.ts");
    console.log(`4 points × ${STEPS} steps, ${navigator.hardwareConcurrency} CPUs, load ${load()}`);
    const results: ModeResult[] = [];
    results.push(
      await mode("serial", dir, async (root) => {
        await run(
          deno,
          ["run", "-A", train, "--config", "s.yaml", "--runs", root, "--no-progress"],
          dir,
        );
      }),
    );
    results.push(
      await mode("parallel2", dir, async (root) => {
        await run(deno, [
          "run",
          "-A",
          train,
          "--config",
          "s.yaml",
          "--runs",
          root,
          "--parallel",
          "2",
          "--no-progress",
        ], dir);
      }),
    );
    if (await hasSlurm()) {
      results.push(
        await mode("slurm", dir, async (root) => {
          await run(deno, [
            "run",
            "-A",
            join(TOOLS, "sweep.ts"),
            "submit",
            "--config",
            "s.yaml",
            "--slurm",
            "--runs",
            root,
          ], dir);
        }),
      );
    } else console.log("slurm     skipped: no running Slurm (.ci/slurm_up.sh)");
    console.log(JSON.stringify(results));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
