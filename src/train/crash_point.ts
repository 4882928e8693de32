/**
 * A test-only fault-injection hook. `KILN_TEST_CRASH_AT=<point>:<n>` makes the n-th (1-based)
 * {@link crashPoint} call with that name kill this process with SIGKILL, as `kill -9` would at
 * that moment; without the variable a crash point is a no-op. The checkpoint writer names a
 * point before and after each rename, fsync and remove, so tests can stop it anywhere.
 *
 * @module
 */

let target: { point: string; n: number } | null | undefined;
const counts = new Map<string, number>();

function readTarget(): { point: string; n: number } | null {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("KILN_TEST_CRASH_AT");
  } catch {
    return null; // no env permission: never a test run
  }
  const m = raw ? /^([\w.]+):(\d+)$/.exec(raw) : null;
  return m ? { point: m[1], n: Number(m[2]) } : null;
}

/**
 * Marks a point where a test may kill the process (see the module doc).
 *
 * @example
 * ```ts
 * crashPoint("checkpoint.before_rename_new");
 * ```
 */
export function crashPoint(point: string): void {
  target ??= readTarget();
  if (target === null || target.point !== point) return;
  const n = (counts.get(point) ?? 0) + 1;
  counts.set(point, n);
  if (n === target.n) Deno.kill(Deno.pid, "SIGKILL");
}
