/**
 * `deno task probe --checkpoint <run> [--layer L]`: the belief-state probe of a model trained on
 * a process. Prints MSE / R² per layer with the cross-validated fit and the shuffled control and
 * writes `probe/probe.json` and `probe/beliefs.svg` into the run directory.
 */

import { join } from "node:path";
import { intFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import {
  formatProbeTable,
  loadProcessModel,
  runProbe,
  writeProbeReport,
} from "../src/eval/probe.ts";
import { Device } from "../src/gpu/device.ts";
import { importPluginsForModel } from "../src/plugins/imports.ts";
import { typecheckLocal } from "../src/plugins/typecheck.ts";
import { UserError } from "../src/util/errors.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";

const HELP = `Usage: deno task probe --checkpoint <run dir | checkpoint dir> [options]

Fits an affine map from the residual stream to the true belief state over every input of a
length, per layer (0 = embedding, i = after block i), next to a 5-fold cross-validated fit and a
shuffled-belief control. Writes <run>/probe/probe.json and <run>/probe/beliefs.svg.

Options:
  --checkpoint PATH  a run directory (uses checkpoints/latest) or a checkpoint directory
  --layer L          the layer drawn in the picture (default: the last block)
  --length N         input length in model positions (default: the model's max_seq_len)
  --folds K          cross-validation folds (default 5)
  --out DIR          where to write (default: <run>/probe)
  --weighted         weight each prefix by the inputs containing it (a fit over all
                     (input, position) pairs, as in Shai et al.); default: each prefix once
  --import FILE.ts   plugin module to load first (repeatable); default: the plugins the run
                     recorded in its config.yaml, checked by SHA-256
  -h, --help         this help`;

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs("probe", args, {
    checkpoint: { type: "string" },
    layer: { type: "string" },
    length: { type: "string" },
    folds: { type: "string" },
    out: { type: "string" },
    weighted: { type: "boolean" },
    import: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return console.log(HELP);
  if (typeof values.checkpoint !== "string") {
    throw new UserError("probe: --checkpoint is required (see --help)");
  }
  const folds = intFlag("folds", values.folds, 5);
  if (folds < 2) throw new UserError("--folds must be at least 2");
  await typecheckLocal({ plugins: (values.import as string[] | undefined) ?? [] });
  await importPluginsForModel(values.checkpoint, (values.import as string[] | undefined) ?? []);
  const dev = await Device.open({ tuneCache: fileTuneCache() });
  const loaded = await loadProcessModel(dev, values.checkpoint);
  const report = await runProbe(dev, loaded.model, loaded.process, {
    bos: loaded.config.data.bos === true,
    seqLen: values.length === undefined ? undefined : intFlag("length", values.length),
    layer: values.layer === undefined ? undefined : intFlag("layer", values.layer),
    folds,
    weightByInputs: values.weighted === true,
  });
  console.log(
    `${report.process}: ${report.inputs} inputs of length ${report.seq_len}, ` +
      `${report.rows} distinct prefixes`,
  );
  console.log(formatProbeTable(report));
  const written = await writeProbeReport(
    values.out as string ?? join(loaded.runDir, "probe"),
    report,
  );
  console.log(`wrote ${written.json} and ${written.svg}`);
}

if (import.meta.main) await runCli(() => main(Deno.args));
