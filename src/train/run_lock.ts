/**
 * An exclusive lock per run directory (`<run>/lock`: JSON with pid, host and the process start
 * time), held by whoever writes the run (train, resume). A second writer gets a one-line error
 * naming the holder. A lock whose process is gone on this host is stale and is taken over; the
 * start time tells a recycled pid from the original process.
 *
 * @module
 */

import { join } from "node:path";
import { hostname } from "node:os";
import { UserError } from "../util/errors.ts";

/** What the lock file records. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Start time of the process in clock ticks since boot (Linux), null elsewhere. */
  start: number | null;
  since: string;
  command: string;
}

/** The lock file of a run directory. */
export function lockPath(runDir: string): string {
  return join(runDir, "lock");
}

/** The start time of process `pid` (field 22 of /proc/<pid>/stat), or null when unknown. */
function processStart(pid: number): number | null | "gone" {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self/stat");
        return "gone"; // /proc works, so the process really is gone
      } catch {
        return null;
      }
    }
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : null;
}

/**
 * True when the holder's process is known to be gone: it ran on this host and /proc shows no
 * process with its pid and start time. A holder on another host is never judged stale.
 */
export function holderIsGone(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  const start = processStart(holder.pid);
  if (start === "gone") return true;
  return start !== null && holder.start !== null && start !== holder.start;
}

/** Reads a lock file (null when absent or unreadable). */
export async function readLock(runDir: string): Promise<LockHolder | null> {
  try {
    const v = JSON.parse(await Deno.readTextFile(lockPath(runDir)));
    return v && typeof v === "object" && Number.isInteger(v.pid) && typeof v.host === "string"
      ? v as LockHolder
      : null;
  } catch {
    return null;
  }
}

function describe(holder: LockHolder | null): string {
  if (!holder) return "another process (unreadable lock file)";
  return `pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since})`;
}

/**
 * Removes a stale lock. Breakers take `<lock>.break` first, so of two processes that both found
 * the lock stale only one removes it (the other would otherwise remove the new holder's lock).
 */
async function breakStaleLock(path: string, stale: LockHolder): Promise<void> {
  const mutex = `${path}.break`;
  try {
    (await Deno.open(mutex, { write: true, createNew: true })).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    const age = Date.now() - ((await Deno.stat(mutex).catch(() => null))?.mtime?.getTime() ?? 0);
    if (age > 60_000) await Deno.remove(mutex).catch(() => {}); // left by a killed breaker
    return;
  }
  try {
    const now = JSON.parse(await Deno.readTextFile(path).catch(() => "null"));
    if (now && now.pid === stale.pid && now.since === stale.since) await Deno.remove(path);
  } finally {
    await Deno.remove(mutex).catch(() => {});
  }
}

/** A held lock; {@link RunLock.releaseSync} removes it. */
export class RunLock {
  private constructor(readonly runDir: string, private released = false) {}

  /**
   * Takes the lock of `runDir` for `command` (e.g. "train", "resume"), replacing a stale one.
   * A live holder is a one-line UserError naming it.
   */
  static async acquire(runDir: string, command: string): Promise<RunLock> {
    const path = lockPath(runDir);
    const me: LockHolder = {
      pid: Deno.pid,
      host: hostname(),
      start: (() => {
        const s = processStart(Deno.pid);
        return typeof s === "number" ? s : null;
      })(),
      since: new Date().toISOString(),
      command,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const file = await Deno.open(path, { write: true, createNew: true });
        try {
          await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
          await file.sync();
        } finally {
          file.close();
        }
        return new RunLock(runDir);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      }
      const holder = await readLock(runDir);
      // A lock being written this instant reads as empty: only a readable dead holder is stale.
      if (!holder || !holderIsGone(holder)) {
        throw new UserError(`run ${runDir} is in use by ${describe(holder)}: wait for it to end`);
      }
      await breakStaleLock(path, holder);
    }
    throw new UserError(`run ${runDir}: could not take its lock (${path})`);
  }

  /** Removes the lock file (once; later calls do nothing). */
  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    try {
      Deno.removeSync(lockPath(this.runDir));
    } catch {
      // already gone (removed by hand): nothing to release
    }
  }
}

/** The locks one training run holds (its resume lock, or the new run's), released together. */
export class RunLocks {
  private readonly held: RunLock[] = [];

  constructor(first?: RunLock) {
    if (first) this.held.push(first);
  }

  /** Adds a lock to release at the end. */
  add(lock: RunLock): void {
    this.held.push(lock);
  }

  /** Releases every lock held. */
  releaseAll(): void {
    for (const lock of this.held) lock.releaseSync();
  }
}
