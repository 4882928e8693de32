/** The command-line arguments shared by the commands that train an experiment config. */

import { UserError } from "../util/errors.ts";
import { parseCliArgs } from "./run.ts";

/** `--config`, `--runs`, `--no-progress`, `-h/--help` and `key.path=value` overrides. */
export interface ExperimentArgs {
  help: boolean;
  configPath?: string;
  /** `key.path=value` config overrides, in the order given. */
  overrides: string[];
  runsRoot?: string;
  /** false with `--no-progress`; undefined lets the progress bar decide (shown on a TTY). */
  progress?: false;
  /** `--import FILE.ts` plugin files, in the order given (repeatable). */
  imports: string[];
}

/**
 * Parses an experiment command's arguments; an unknown flag or a positional that is not
 * `key=value` is a one-line UserError naming `command`.
 *
 * @example
 * ```ts
 * const args = parseExperimentArgs("train", ["--config", "c.yaml", "seed=3"]);
 * // { help: false, configPath: "c.yaml", overrides: ["seed=3"], ... }
 * ```
 */
export function parseExperimentArgs(command: string, args: string[]): ExperimentArgs {
  const { values, positionals } = parseCliArgs(command, args, {
    config: { type: "string" },
    runs: { type: "string" },
    "no-progress": { type: "boolean" },
    import: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  const bad = positionals.find((p) => !p.includes("="));
  if (bad && !values.help) {
    throw new UserError(`${command}: unexpected argument "${bad}" (overrides look like key=value)`);
  }
  return {
    help: values.help === true,
    configPath: values.config as string | undefined,
    overrides: positionals,
    runsRoot: values.runs as string | undefined,
    progress: values["no-progress"] ? false : undefined,
    imports: (values.import as string[] | undefined) ?? [],
  };
}
