/** The entry wrapper every tool uses: user mistakes become one line and an exit code. */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { isUserError, UserError } from "../util/errors.ts";

/**
 * Runs a command's main function. A `UserError` prints `error: <message>` on stderr and exits
 * with its code (2); any other error is a bug and keeps its stack trace (exit 1).
 *
 * @example
 * ```ts
 * if (import.meta.main) await runCli(() => main(Deno.args));
 * ```
 */
export async function runCli(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (isUserError(err)) {
      console.error(`error: ${err.message}`);
      Deno.exit(err.exitCode);
    }
    throw err;
  }
}

/**
 * `node:util` parseArgs with strict checking, turning its errors into one-line UserErrors
 * (unknown flag, missing value) that name the command.
 */
export function parseCliArgs<T extends ParseArgsConfig["options"]>(
  command: string,
  args: string[],
  options: T,
): {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
} {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (err) {
    throw new UserError(`${command}: ${(err as Error).message} (see --help)`);
  }
}

/** Parses an integer flag value, or throws a UserError naming the flag. */
export function intFlag(name: string, value: unknown, fallback?: number): number {
  return numericFlag(name, value, fallback, Number.isInteger, "an integer");
}

/** Parses a number flag value, or throws a UserError naming the flag. */
export function numberFlag(name: string, value: unknown, fallback?: number): number {
  return numericFlag(name, value, fallback, Number.isFinite, "a number");
}

function numericFlag(
  name: string,
  value: unknown,
  fallback: number | undefined,
  valid: (n: number) => boolean,
  expected: string,
): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UserError(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!valid(n)) throw new UserError(`--${name}: expected ${expected}, found "${value}"`);
  return n;
}
