/**
 * The command line that starts `deno task train` in another process (a `--parallel` child, a
 * Slurm array task): this Deno running tools/train.ts, or, inside the compiled `kiln` binary,
 * the binary's own `train` subcommand.
 *
 * @module
 */

import { basename } from "node:path";

const TRAIN_TOOL = new URL("../../tools/train.ts", import.meta.url);

/** `[program, ...args]` that runs the train command. */
export function trainCommand(execPath = Deno.execPath()): string[] {
  const compiled = !/^deno(\.exe)?$/i.test(basename(execPath));
  return compiled ? [execPath, "train"] : [execPath, "run", "-A", TRAIN_TOOL.pathname];
}
