/**
 * Running the Python reference implementations (PyTorch) that tests and benchmarks compare
 * against. Callers check `hasPyTorch()` first (see `env.ts`).
 *
 * @module
 */

import { type CommandOptions, runCommand } from "./cli.ts";

/** The interpreter whose `torch` `hasPyTorch()` checks. */
export const PYTHON = "/usr/bin/python3";

/**
 * Runs `python3 args` and returns its stdout; a non-zero exit throws with Python's stderr (the
 * traceback), so a broken reference script fails loudly instead of as unparseable output.
 *
 * @example
 * ```ts
 * await runPython([scriptPath, dir], { env: { OMP_NUM_THREADS: "1" } });
 * ```
 */
export async function runPython(args: string[], opts: CommandOptions = {}): Promise<string> {
  const out = await runCommand(PYTHON, args, opts);
  if (out.code !== 0) {
    throw new Error(`python3 ${args[0]} failed (exit ${out.code}):\n${out.stderr}`);
  }
  return out.stdout;
}

/**
 * Runs an inline Python `script` that reads `input` as JSON on stdin and prints one JSON value.
 *
 * @example
 * ```ts
 * const r = await pythonJson<{ sum: number }>(
 *   "import json, sys; print(json.dumps({'sum': sum(json.load(sys.stdin))}))",
 *   [1, 2, 3],
 * );
 * ```
 */
export async function pythonJson<T>(script: string, input: unknown): Promise<T> {
  return JSON.parse(await runPython(["-c", script], { stdin: JSON.stringify(input) })) as T;
}
