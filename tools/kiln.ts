/**
 * The `kiln` binary: one entry point that dispatches to every subcommand
 * (`kiln train …`, `kiln viz …`). Built with `deno task compile`.
 */

import { runCli } from "../src/cli/run.ts";
import { UserError } from "../src/util/errors.ts";
import { main as demo } from "./demo.ts";
import { main as download } from "./download.ts";
import { main as probe } from "./probe.ts";
import { main as runs } from "./runs.ts";
import { main as sweep } from "./sweep.ts";
import { main as tokenize } from "./tokenize.ts";
import { main as train } from "./train.ts";
import { main as validate } from "./validate.ts";
import { main as viz } from "./visualize.ts";

const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; about: string }> = {
  demo: { run: demo, about: "train the mess3 demo and compare it with the optimal loss" },
  download: { run: download, about: "fetch a Hugging Face Hub dataset into the local cache" },
  tokenize: { run: tokenize, about: "analyze, train and apply BPE tokenizers; write token shards" },
  train: { run: train, about: "train a model from a YAML config" },
  validate: { run: validate, about: "evaluate, sample, chat with and inspect a trained model" },
  probe: { run: probe, about: "belief-state probe of a model trained on a process" },
  runs: { run: runs, about: "list training runs" },
  sweep: { run: sweep, about: "submit a sweep as a Slurm job array; its status" },
  viz: { run: viz, about: "serve the run visualizer on 127.0.0.1" },
};

const HELP = `Usage: kiln <command> [options]   (each command takes --help)

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.about}`).join("\n")}`;

/** Dispatches `args[0]` to its subcommand with the remaining arguments. */
export async function main(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return;
  }
  const command = COMMANDS[name];
  if (!command) {
    throw new UserError(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
  }
  await command.run(rest);
}

if (import.meta.main) await runCli(() => main(Deno.args));
