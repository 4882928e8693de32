/**
 * Writes run directories in the trainer's format (DESIGN.md "Run directory") for the visualizer's
 * tests and benchmark: config.yaml, run.json and metrics.jsonl with closed-form curves, so tests
 * know every value the server should report.
 */

import { join } from "node:path";
import { stringify } from "yaml";

/** What a fixture run looks like. */
export interface FixtureRun {
  experiment: string;
  dirName: string;
  status?: string;
  params?: number;
  steps: number;
  evalEvery?: number;
  tokensPerStep?: number;
  /** Multiplies the whole loss curve (to tell runs apart). */
  lossScale?: number;
  /** Steps whose train loss is 10× (a spike downsampling must keep). */
  spikes?: number[];
  /** Val lines carry accuracy, optimal_loss and progress_to_optimal. */
  taskMetrics?: boolean;
  lr?: number;
  created?: string;
}

/** L* of the task-metric fixtures. */
export const FIXTURE_OPTIMAL_LOSS = 0.85939;

/** The fixture's train loss at `step` (before spikes and scale). */
export function fixtureTrainLoss(step: number): number {
  return 0.9 + 2.5 * Math.exp(-step / 200) + 0.05 * Math.sin(step * 1.7);
}

/** The fixture's val loss at `step`, already scaled. */
export function fixtureValLoss(run: FixtureRun, step: number): number {
  return (0.95 + 2.4 * Math.exp(-step / 200)) * (run.lossScale ?? 1);
}

/** One train line of metrics.jsonl. */
export function trainLine(run: FixtureRun, step: number): string {
  const tokens = step * (run.tokensPerStep ?? 1024);
  const spike = run.spikes?.includes(step) ? 10 : 1;
  return JSON.stringify({
    type: "train",
    step,
    tokens,
    flops: tokens * 6e6,
    elapsed_s: step * 0.05,
    loss: fixtureTrainLoss(step) * (run.lossScale ?? 1) * spike,
    lr: (run.lr ?? 1e-3) * Math.min(1, step / 100),
    grad_norm: 1 + 1 / (1 + step),
    tokens_per_s: 20000 + (step % 7) * 10,
    step_ms: 50,
    gpu_bytes: 1 << 20,
  });
}

/** One val line of metrics.jsonl. */
export function valLine(run: FixtureRun, step: number): string {
  const tokens = step * (run.tokensPerStep ?? 1024);
  const loss = fixtureValLoss(run, step);
  const record: Record<string, unknown> = {
    type: "val",
    step,
    tokens,
    flops: tokens * 6e6,
    elapsed_s: step * 0.05,
    loss,
    ppl: Math.exp(loss),
  };
  if (run.taskMetrics) {
    const initial = fixtureValLoss(run, 0);
    record.accuracy = Math.min(1, step / (run.steps || 1));
    record.optimal_loss = FIXTURE_OPTIMAL_LOSS;
    record.progress_to_optimal = (loss - FIXTURE_OPTIMAL_LOSS) / (initial - FIXTURE_OPTIMAL_LOSS);
  }
  return JSON.stringify(record);
}

/** All metrics.jsonl lines of a run, steps 1..steps, val every `evalEvery`. */
export function metricsLines(run: FixtureRun, fromStep = 1, toStep = run.steps): string[] {
  const lines: string[] = [];
  const evalEvery = run.evalEvery ?? 100;
  for (let step = fromStep; step <= toStep; step++) {
    lines.push(trainLine(run, step));
    if (step % evalEvery === 0) lines.push(valLine(run, step));
    if (step % 1000 === 0) {
      lines.push(
        JSON.stringify({ type: "event", step, elapsed_s: step * 0.05, event: "checkpoint" }),
      );
    }
  }
  return lines;
}

/** Writes a run directory under `logdir` and returns its path. */
export async function writeFixtureRun(logdir: string, run: FixtureRun): Promise<string> {
  const dir = join(logdir, run.experiment, run.dirName);
  await Deno.mkdir(dir, { recursive: true });
  const config = {
    experiment_name: run.experiment,
    seed: 1,
    model: { n_layer: 2, n_head: 2, d_model: 64 },
    training: { batch_size: 32, learning_rate: run.lr ?? 1e-3, max_steps: run.steps },
  };
  await Deno.writeTextFile(join(dir, "config.yaml"), stringify(config));
  await Deno.writeTextFile(
    join(dir, "run.json"),
    JSON.stringify({
      id: run.dirName.split("-").pop(),
      name: run.experiment,
      status: run.status ?? "finished",
      created: run.created ?? "2025-01-01T00:00:00Z",
      updated: run.created ?? "2025-01-01T00:00:00Z",
      git: { commit: "0000000", dirty: false },
      param_count: run.params ?? 100_000,
      flops_per_token_formula: "6N + 12LdT",
      peak_flops: null,
    }),
  );
  const lines = metricsLines(run);
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), lines.length ? lines.join("\n") + "\n" : "");
  return dir;
}
