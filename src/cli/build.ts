/**
 * `deno task compile` (dist/kiln, one executable) and `deno task bundle` (dist/kiln.js, one
 * JavaScript file that `deno run -A` runs from any folder). Everything kiln needs at run time —
 * shaders, the visualizer's page, uPlot, GPT-2's ranks, the demo's config — is a text or module
 * import, so neither needs `--include`.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../util/errors.ts";

/** The repository root (this file is src/cli/build.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The CLI's entry point, relative to the repository. */
export const ENTRY = "tools/kiln.ts";

/** Where a build goes. */
export interface BuildOptions {
  /** Output file (default dist/kiln or dist/kiln.js under the repository). */
  out?: string;
  /** Environment of the build (DENORT_BIN is read from it; default Deno.env). */
  env?: Record<string, string | undefined>;
}

async function runDeno(args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw Object.assign(new Error(stderr), { stderr });
  return stderr;
}

/** Last line of a failed deno command's stderr that says something. */
function reason(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !/^\d+:/.test(l));
  const useful = lines.filter((l) => !l.startsWith("Stack backtrace") && l !== "<unknown>");
  return useful.find((l) => l.startsWith("error:")) ?? useful.pop() ?? "unknown failure";
}

/** `deno bundle` of the CLI into one file; returns its path. */
export async function bundleCli(opts: BuildOptions = {}): Promise<string> {
  const out = resolve(opts.out ?? join(REPO_ROOT, "dist", "kiln.js"));
  const tmp = `${out}.tmp-${Deno.pid}.js`;
  await Deno.mkdir(dirname(out), { recursive: true });
  try {
    await runDeno(["bundle", "--quiet", "--platform", "deno", "-o", tmp, ENTRY]);
    await Deno.rename(tmp, out);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    const stderr = (err as { stderr?: string }).stderr;
    if (stderr === undefined) throw err;
    throw new UserError(`deno bundle failed: ${reason(stderr)}`);
  }
  return out;
}

/**
 * Checks DENORT_BIN (the runtime `deno compile` wraps, denort): it must be a file, and not the
 * full deno CLI (whose executable would behave as `deno`, ignoring kiln).
 */
export async function checkDenortBin(path: string): Promise<void> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info?.isFile) throw new UserError(`DENORT_BIN=${path}: no such file`);
  const probe = await new Deno.Command(path, {
    args: ["--version"],
    stdout: "piped",
    stderr: "null",
  })
    .output().catch(() => null);
  const text = probe ? new TextDecoder().decode(probe.stdout) : "";
  if (/^deno \d/.test(text) && /typescript/i.test(text)) {
    throw new UserError(
      `DENORT_BIN=${path} is the deno CLI, not denort (its binary would act as deno): ` +
        `use denort-<target>.zip from https://github.com/denoland/deno/releases`,
    );
  }
}

/** `deno compile` of the CLI into one executable (DENORT_BIN honoured); returns its path. */
export async function compileCli(opts: BuildOptions = {}): Promise<string> {
  const env = opts.env ?? Deno.env.toObject();
  const out = resolve(opts.out ?? join(REPO_ROOT, "dist", "kiln"));
  const denort = env.DENORT_BIN;
  if (denort) await checkDenortBin(denort);
  await Deno.mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${Deno.pid}`;
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  try {
    await runDeno(["compile", "-A", "--quiet", "--output", tmp, ENTRY], childEnv);
    await Deno.rename(tmp, out);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    const stderr = (err as { stderr?: string }).stderr;
    if (stderr === undefined) throw err;
    if (!denort && /denort|dl\.deno\.land|dns error|download/i.test(stderr)) {
      throw new UserError(
        "deno compile needs the denort runtime and could not download it: set " +
          "DENORT_BIN=/path/to/denort (README: The binary), or use deno task bundle",
      );
    }
    throw new UserError(`deno compile failed: ${reason(stderr)}`);
  }
  return out;
}
