/**
 * `deno task demo`: trains configs/mess3.yaml (2-layer GPT on the mess3 process), prints the final
 * val loss next to the optimal loss L*, probes the model for belief states, and says how to open
 * the visualizer.
 */

import { parseExperimentArgs } from "../src/cli/experiment_args.ts";
import { runCli } from "../src/cli/run.ts";
import { formatDemoSummary, runDemo } from "../src/eval/demo.ts";
import { holdStopSignals } from "../src/train/stop_signals.ts";

const HELP = `Usage: deno task demo [--config configs/mess3.yaml] [key.path=value …]

Trains a small GPT on the mess3 process (the "belief state geometry" seed setup), then prints the
final validation loss next to the optimal loss L* (and the optimum on the same val sequences),
fits the belief-state probe (written to <run>/probe/) and says how to open the visualizer.

Options:
  --config <file>   a process config (default configs/mess3.yaml)
  key.path=value    override config keys, e.g. training.max_steps=200
  --runs <dir>      root of run directories (default: runs)
  --no-progress     no progress bar
  -h, --help        this help`;

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const parsed = parseExperimentArgs("demo", args);
  if (parsed.help) return console.log(HELP);
  holdStopSignals();
  const result = await runDemo({
    configPath: parsed.configPath ?? "configs/mess3.yaml",
    overrides: parsed.overrides,
    progress: parsed.progress,
    runsRoot: parsed.runsRoot,
  });
  console.log(formatDemoSummary(result));
}

if (import.meta.main) await runCli(() => main(Deno.args));
