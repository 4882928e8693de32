/**
 * The belief-state probe (Shai et al., NeurIPS 2024): run every input of a given length through a
 * model trained on a process, take the residual stream at each position after the embedding and
 * after each block, and fit an affine least-squares map to the true belief state. Reports MSE and
 * R² per layer next to a cross-validated fit and a shuffled-belief control, and writes the 2-D
 * picture of true and predicted beliefs (SVG + JSON for the visualizer) into `<run>/probe/`.
 *
 * @module
 */

import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { requireResolved } from "../config/model_sizes.ts";
import type { Process } from "../data/synthetic/process.ts";
import { processDataSchema, resolveProcess } from "../data/synthetic/process_source.ts";
import type { Device } from "../gpu/device.ts";
import type { GPT } from "../nn/gpt.ts";
import { createGpt } from "../nn/models_all.ts";
import { loadCheckpoint, resolveResumeTarget } from "../train/checkpoint.ts";
import { toGptConfig } from "../train/prepare.ts";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { ProgressBar } from "../util/progress.ts";
import {
  type BeliefInputs,
  captureResiduals,
  enumerateBeliefInputs,
  type LayerProbe,
  MAX_PROBE_INPUTS,
  type ProbeOptions as BeliefProbeOptions,
  type ProbeReport,
  projectBeliefs,
  runProbe as runBeliefProbe,
} from "./belief_probe.ts";
import { scatterSvg } from "./probe_plot.ts";

export { captureResiduals, enumerateBeliefInputs, MAX_PROBE_INPUTS, projectBeliefs };
export type { BeliefInputs, LayerProbe, ProbeReport };

/** Options of {@link runProbe}: the probe's own, and a terminal progress bar. */
export interface ProbeOptions extends Omit<BeliefProbeOptions, "onProgress"> {
  /** Draw a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

/** Runs the probe on a model and process (no files written), with a progress bar. */
export async function runProbe(
  dev: Device,
  model: GPT,
  process: Process,
  opts: ProbeOptions,
): Promise<ProbeReport> {
  let bar: ProgressBar | null = null;
  const report = await runBeliefProbe(dev, model, process, {
    ...opts,
    onProgress: (done, total) => {
      bar ??= new ProgressBar({ total, label: "probe", enabled: opts.progress });
      bar.update(done);
    },
  });
  (bar as ProgressBar | null)?.done();
  return report;
}

/** Writes `probe.json` and `beliefs.svg` into `dir`; returns their paths. */
export async function writeProbeReport(
  dir: string,
  report: ProbeReport,
): Promise<{ json: string; svg: string }> {
  const json = join(dir, "probe.json");
  const svg = join(dir, "beliefs.svg");
  const layer = report.layers[report.plotted_layer];
  const p = report.projection;
  const picture = scatterSvg(
    [
      { title: "true beliefs", points: p.true },
      { title: `predicted from ${layer.name} (R² ${layer.r2.toFixed(3)})`, points: p.predicted },
    ],
    p.color,
    {
      vertices: p.vertices,
      caption: `${report.process}, ${report.inputs} inputs of length ${report.seq_len}; ` +
        `MSE ${layer.mse.toExponential(2)}, shuffled control ${
          layer.shuffled_mse.toExponential(2)
        }`,
    },
  );
  await writeJsonAtomic(json, report);
  await writeFileAtomic(svg, picture);
  return { json, svg };
}

/** A trained model with the config and process it was trained on. */
export interface LoadedProcessModel {
  config: ResolvedConfig;
  model: GPT;
  process: Process;
  runDir: string;
  checkpointDir: string;
}

/**
 * Loads a run (or one of its checkpoints) trained on a process: its resolved config.yaml, the
 * model with the checkpoint's weights, and the process it learned.
 */
export async function loadProcessModel(dev: Device, path: string): Promise<LoadedProcessModel> {
  const { runDir, checkpointDir } = await resolveResumeTarget(path);
  const configPath = join(runDir, "config.yaml");
  const config = requireResolved(await loadConfig(configPath), configPath);
  if (config.data.source !== "process") {
    throw new UserError(
      `probe: run ${runDir} was trained on data.source=${config.data.source}; the belief probe ` +
        `needs a process (data.source=process)`,
    );
  }
  const { source: _source, ...rest } = config.data;
  const process = await resolveProcess(
    processDataSchema.parse(rest),
    (path: string) => Deno.readTextFile(path),
  );
  const checkpoint = await loadCheckpoint(checkpointDir);
  const model = createGpt(dev, toGptConfig(config.model), { seed: config.seed });
  const values = new Map<string, Float32Array>();
  for (const [name, t] of checkpoint.params) values.set(name, t.data);
  model.params.write(values);
  return { config, model, process, runDir, checkpointDir };
}

/** Formats the per-layer table the CLI prints. */
export function formatProbeTable(report: ProbeReport): string {
  const head = "layer        MSE        R²     CV MSE     CV R²   shuffled MSE  shuffled R²";
  const lines = report.layers.map((l) =>
    `${l.name.padEnd(10)} ${l.mse.toExponential(2).padStart(9)} ${l.r2.toFixed(4).padStart(8)} ` +
    `${l.cv_mse.toExponential(2).padStart(10)} ${l.cv_r2.toFixed(4).padStart(8)} ` +
    `${l.shuffled_mse.toExponential(2).padStart(14)} ${l.shuffled_r2.toFixed(4).padStart(12)}`
  );
  const out = [head, ...lines];
  if (report.rows < 4 * (report.d_model + 1)) {
    out.push(
      `note: ${report.rows} prefixes for ${report.d_model + 1} parameters per belief coordinate; ` +
        `in-sample and shuffled scores are inflated, the cross-validated columns are the measure`,
    );
  }
  return out.join("\n");
}
