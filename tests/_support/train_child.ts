/**
 * A real `tools/train.ts` child process that is interrupted once training is under way: what the
 * signal tests (Ctrl-C, SIGTERM, SIGHUP) share.
 *
 * @module
 */

import { join, resolve } from "node:path";

const REPO = resolve(new URL("../..", import.meta.url).pathname);

/** What the interrupted child left. */
export interface SignalledTraining {
  code: number;
  stdout: string;
  stderr: string;
  /** The run directory it trained into. */
  runDir: string;
}

/**
 * Starts `tools/train.ts --config c.yaml --runs runs [...args]` in `dir` (which holds c.yaml),
 * waits until `runs/<experiment>/<run>/metrics.jsonl` has a train line, then sends `signal` and
 * waits for the child to exit.
 */
export async function trainAndSignal(
  dir: string,
  experiment: string,
  signal: Deno.Signal,
  args: string[] = [],
): Promise<SignalledTraining> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(REPO, "tools/train.ts"),
      "--config",
      "c.yaml",
      ...args,
      "--runs",
      "runs",
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 120_000;
  let runDir = "";
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    try {
      for await (const e of Deno.readDir(join(dir, "runs", experiment))) {
        runDir = join(dir, "runs", experiment, e.name);
      }
      if ((await Deno.readTextFile(join(runDir, "metrics.jsonl"))).includes('"train"')) break;
    } catch { /* not there yet */ }
  }
  child.kill(signal);
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    runDir,
  };
}
