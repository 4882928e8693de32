/**
 * The default demo (`deno task demo`): train the seed's mess3 setup, compare the final validation
 * loss with the optimal loss L*, run the belief-state probe on the trained model, and say how to
 * look at the run in the visualizer.
 *
 * @module
 */

import { join } from "node:path";
import { loadConfigOrBuiltin } from "../config/builtin.ts";
import { sourceContextOf } from "../config/model_sizes.ts";
import { createProcessSource, processDataSchema } from "../data/synthetic/process_source.ts";
import { Device } from "../gpu/device.ts";
import { train, type TrainResult } from "../train/trainer.ts";
import { UserError } from "../util/errors.ts";
import { loadProcessModel, type ProbeReport, runProbe, writeProbeReport } from "./probe.ts";
import { fileTuneCache } from "../util/tune_cache_file.ts";

/** What the demo measured. */
export interface DemoResult {
  run: TrainResult;
  /** L* for the model's context (REFERENCE.md: 0.85939 for mess3, n_ctx 6, BOS). */
  optimalLoss: number;
  /** The optimal model's loss on exactly the validation batches the run was scored on. */
  valOptimalLoss: number;
  probe: ProbeReport;
  probeFiles: { json: string; svg: string };
}

/** Trains `configPath` (a process config) with `overrides`, then probes the trained model. */
export async function runDemo(opts: {
  configPath: string;
  overrides: string[];
  progress?: boolean;
  runsRoot?: string;
}): Promise<DemoResult> {
  const cfg = await loadConfigOrBuiltin(opts.configPath, opts.overrides);
  if (cfg.data.source !== "process") {
    throw new UserError(`demo: ${opts.configPath} must use data.source=process`);
  }
  const { source: _kind, ...data } = cfg.data;
  const source = await createProcessSource(processDataSchema.parse(data), {
    seed: cfg.seed,
    seqLen: sourceContextOf(cfg).seqLen,
  });
  const dev = await Device.open({
    tuneCache: fileTuneCache(),
    powerPreference: cfg.device.power_preference,
    adapter: cfg.device.adapter,
  });
  const run = await train(cfg, {
    device: dev,
    handleSigint: true,
    progress: opts.progress,
    runsRoot: opts.runsRoot,
  });
  const loaded = await loadProcessModel(dev, run.dir);
  const probe = await runProbe(dev, loaded.model, loaded.process, {
    bos: source.metadata.bos === true,
  });
  const probeFiles = await writeProbeReport(join(run.dir, "probe"), probe);
  return {
    run,
    optimalLoss: source.metadata.optimal_loss as number,
    valOptimalLoss: source.valOptimalLoss(cfg.training.eval_batches, cfg.training.batch_size),
    probe,
    probeFiles,
  };
}

/** The demo's closing summary. */
export function formatDemoSummary(r: DemoResult): string {
  const val = r.run.finalValLoss ?? NaN;
  const sign = (x: number) => (x >= 0 ? "+" : "") + x.toFixed(4);
  const last = r.probe.layers[r.probe.layers.length - 1];
  return [
    `run: ${r.run.dir} (${r.run.status}, ${r.run.steps} steps, ${r.run.elapsedS.toFixed(0)} s)`,
    `final val loss                      ${val.toFixed(4)}`,
    `optimal loss L*                     ${r.optimalLoss.toFixed(4)}   gap ${
      sign(val - r.optimalLoss)
    }`,
    `optimum on these val sequences      ${r.valOptimalLoss.toFixed(4)}   gap ${
      sign(val - r.valOptimalLoss)
    }`,
    `belief probe, ${last.name}: R² ${last.r2.toFixed(3)} (cross-validated ${
      last.cv_r2.toFixed(3)
    }), MSE ${last.mse.toExponential(2)}; shuffled control R² ${last.shuffled_r2.toFixed(3)}`,
    `belief picture: ${r.probeFiles.svg}`,
    `open the visualizer: deno task viz   (then http://127.0.0.1:8787)`,
  ].join("\n");
}
