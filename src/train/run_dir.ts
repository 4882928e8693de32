/**
 * The run directory `runs/<experiment_name>/<YYYYmmdd-HHMMSS>-<short id>/` and its `run.json`
 * (DESIGN.md "Run directory"). A run directory is created exclusively: an existing one is never
 * reused or overwritten.
 *
 * @module
 */

import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { writeJsonAtomic } from "../util/fs.ts";

/** Lifecycle of a run as `run.json` records it (`killed`: its process died, see dead_run.ts). */
export type RunStatus = "running" | "finished" | "failed" | "stopped" | "preempted" | "killed";

/** The content of `run.json`. */
export interface RunInfo {
  id: string;
  name: string;
  status: RunStatus;
  created: string;
  updated: string;
  git: { commit: string | null; dirty: boolean | null };
  deno: string;
  adapter: { description: string; limits: Record<string, number> };
  param_count: number;
  flops_per_token: number;
  flops_formula: string;
  peak_flops: number | null;
  /** The data source: name, vocabulary, context and its metadata (e.g. optimal_loss). */
  data: { name: string; vocab_size: number; seq_len: number; [key: string]: unknown };
  /** The sweep values this run was made with, when it is part of a sweep. */
  sweep?: Record<string, unknown>;
  /** The sweep this run belongs to (see src/sweep/points.ts), and its point's index. */
  sweep_id?: string;
  sweep_index?: number;
  /** A one-line reason when status is failed, stopped or preempted. */
  message?: string;
  [key: string]: unknown;
}

/** `YYYYmmdd-HHMMSS` in local time (what a person reads in a directory listing). */
export function runTimestamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-` +
    `${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** Six random hex digits: distinguishes runs started in the same second. */
export function shortId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Creates a fresh run directory under `root/<experimentName>/` and returns its path and id. The
 * last component is made with a non-recursive mkdir, so two runs can never share a directory.
 */
export async function createRunDir(
  root: string,
  experimentName: string,
): Promise<{ dir: string; id: string }> {
  const parent = join(root, experimentName);
  await Deno.mkdir(parent, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const id = `${runTimestamp()}-${shortId()}`;
    const dir = join(parent, id);
    try {
      await Deno.mkdir(dir);
      return { dir, id };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  throw new UserError(`could not create a new run directory under ${parent}`);
}

/** The current git commit and whether the tree has uncommitted changes (null outside git). */
export async function gitState(
  cwd = ".",
): Promise<{ commit: string | null; dirty: boolean | null }> {
  const run = async (args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" })
        .output();
      return out.success ? new TextDecoder().decode(out.stdout) : null;
    } catch {
      return null;
    }
  };
  const commit = (await run(["rev-parse", "HEAD"]))?.trim() || null;
  if (!commit) return { commit: null, dirty: null };
  const status = await run(["status", "--porcelain", "--untracked-files=no"]);
  return { commit, dirty: status === null ? null : status.trim().length > 0 };
}

/** Writes `run.json` atomically, stamping `updated`. */
export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  info.updated = new Date().toISOString();
  await writeJsonAtomic(join(dir, "run.json"), info);
}

/** Reads `run.json` of a run directory. */
export async function readRunInfo(dir: string): Promise<RunInfo> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "run.json"))) as RunInfo;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`not a run directory: ${dir}`);
    throw new UserError(`${join(dir, "run.json")}: ${(err as Error).message}`);
  }
}

/**
 * Marks a run `failed` with a one-line message after an error, and never throws: on a full disk
 * the atomic write (a temp file) may fail where overwriting run.json in place still fits.
 */
export async function recordFailure(
  dir: string,
  info: RunInfo,
  step: number,
  message: string,
): Promise<void> {
  info.status = "failed";
  info.message = message.split("\n")[0];
  info.step = step;
  try {
    await writeRunInfo(dir, info);
  } catch {
    try {
      await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(info, null, 2) + "\n");
    } catch {
      // nothing more can be done; the error itself still reaches the user
    }
  }
}
