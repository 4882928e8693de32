/**
 * Running kiln's commands (and other programs) as real subprocesses in tests, and the check every
 * command's error path shares (exit 2 with a single `error: …` line).
 *
 * @module
 */

import assert from "node:assert/strict";

/** What a finished subprocess left: its exit code and decoded output. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where and how a subprocess runs. */
export interface CommandOptions {
  /** Working directory (default: the test's). */
  cwd?: string;
  /** Added to the inherited environment (after `NO_COLOR=1`, so a test may override it). */
  env?: Record<string, string>;
  /** Text written to the child's stdin, which is closed afterwards (default: no stdin). */
  stdin?: string;
}

/**
 * Runs `program args` with NO_COLOR set and captures exit code, stdout and stderr.
 *
 * @example
 * ```ts
 * const r = await runCommand("/usr/bin/python3", ["-c", "print(1)"]);
 * ```
 */
export async function runCommand(
  program: string,
  args: string[],
  opts: CommandOptions = {},
): Promise<CommandOutput> {
  const child = new Deno.Command(program, {
    args,
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(opts.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs `deno <args>` (this Deno) through {@link runCommand}.
 *
 * @example
 * ```ts
 * const r = await runDeno(["eval", "console.log(1)"]);
 * ```
 */
export function runDeno(args: string[], opts: CommandOptions = {}): Promise<CommandOutput> {
  return runCommand(Deno.execPath(), args, opts);
}

/**
 * Runs `tools/<tool>.ts` (found from this file, so any `cwd` works) under `deno run -A`.
 *
 * @example
 * ```ts
 * const r = await runTool("train", ["--help"]);
 * assert.equal(r.code, 0);
 * ```
 */
export function runTool(
  tool: string,
  args: string[],
  opts: CommandOptions = {},
): Promise<CommandOutput> {
  const path = new URL(`../../tools/${tool}.ts`, import.meta.url).pathname;
  return runDeno(["run", "-A", path, ...args], opts);
}

/** Asserts exit code 2 and exactly one stderr line, `error: …`, matching `pattern`. */
export function assertOneLineError(out: CommandOutput, pattern: RegExp): void {
  assert.equal(out.code, 2, `exit code (stderr: ${out.stderr})`);
  const lines = out.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line: ${out.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
}
