/**
 * Runs whose process died without a word: run.json says `running`, but the run's lock names a
 * process that is gone (kill -9, a crash, a power cut). Whoever finds one (`runs`, `viz`,
 * resume) marks it `killed`, taking the lock for the moment it writes, so it never races a
 * resume that has just taken the run over.
 *
 * @module
 */

import { join } from "node:path";
import { holderIsGone, readLock, RunLock } from "./run_lock.ts";
import { readRunInfo, writeRunInfo } from "./run_dir.ts";

/**
 * Marks the run at `runDir` `killed` when run.json says `running` and its lock holder is gone.
 * Returns true when it changed run.json; never throws (a read-only log directory stays as is).
 */
export async function markDeadRun(runDir: string): Promise<boolean> {
  try {
    const holder = await readLock(runDir);
    if (!holder || !holderIsGone(holder)) return false;
    const lock = await RunLock.acquire(runDir, "mark killed");
    try {
      const info = await readRunInfo(runDir);
      if (info.status !== "running") return false;
      const latest = await Deno.readTextFile(join(runDir, "checkpoints", "latest"))
        .then((t) => JSON.parse(t).step as number).catch(() => null);
      info.status = "killed";
      info.message = `process ${holder.pid} on ${holder.host} ended without finishing (` +
        (latest === null ? "no checkpoint" : `last checkpoint at step ${latest}`) + ")";
      await writeRunInfo(runDir, info);
      return true;
    } finally {
      lock.releaseSync();
    }
  } catch {
    return false;
  }
}
