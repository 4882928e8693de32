/**
 * Ctrl-C as a flag a long loop polls, for commands that want to stop cleanly (a message, an exit
 * code) instead of dying mid-write.
 *
 * @module
 */

/** A SIGINT listener: `requested()` turns true at the first Ctrl-C; `dispose()` removes it. */
export interface InterruptListener {
  requested: () => boolean;
  dispose: () => void;
}

/**
 * Listens for SIGINT until disposed. Where signals cannot be listened for (Windows has SIGINT;
 * a browser has none) `requested` stays false.
 *
 * @example
 * ```ts
 * const interrupt = listenForInterrupt();
 * try {
 *   while (!interrupt.requested()) await work();
 * } finally {
 *   interrupt.dispose();
 * }
 * ```
 */
export function listenForInterrupt(): InterruptListener {
  let requested = false;
  const onSigint = () => {
    requested = true;
  };
  try {
    Deno.addSignalListener("SIGINT", onSigint);
  } catch {
    return { requested: () => false, dispose: () => {} };
  }
  return {
    requested: () => requested,
    dispose: () => Deno.removeSignalListener("SIGINT", onSigint),
  };
}
