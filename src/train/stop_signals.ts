/**
 * The signals that ask a training run to stop cleanly: SIGINT (Ctrl-C), SIGTERM (what Slurm and
 * most schedulers send before preemption or the time limit) and SIGHUP (a closed terminal or
 * ssh session). Each one lets the current step finish, writes a checkpoint and marks the run;
 * the process then exits with the shell's 128 + signal number for SIGTERM and SIGHUP, which is
 * what Slurm and other schedulers read as "killed by that signal" (so a requeue is expected).
 * SIGINT keeps exit 0: a person pressed Ctrl-C and the run ended as asked.
 *
 * @module
 */

/** A signal kiln treats as "stop after this step". */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Every stop signal, in the order they are listened for. */
export const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Why the run stopped, as run.json's message records it. */
export const STOP_REASONS: Record<StopSignal, string> = {
  SIGINT: "stopped by Ctrl-C",
  SIGTERM: "preempted (SIGTERM)",
  SIGHUP: "stopped by SIGHUP (terminal closed)",
};

/** The status a run ends with after each signal. */
export function stopStatus(signal: StopSignal): "stopped" | "preempted" {
  return signal === "SIGTERM" ? "preempted" : "stopped";
}

/** The process exit code after a clean stop on `signal` (0 for Ctrl-C, else 128 + signo). */
export function stopExitCode(signal: StopSignal): number {
  return signal === "SIGTERM" ? 143 : signal === "SIGHUP" ? 129 : 0;
}

function addHandlers(onSignal: (signal: StopSignal) => void): () => void {
  // Windows has only SIGINT (and SIGBREAK); the others throw there.
  const signals = Deno.build.os === "windows" ? ["SIGINT" as const] : STOP_SIGNALS;
  const handlers = signals.map((sig) => [sig, () => onSignal(sig)] as const);
  for (const [sig, fn] of handlers) Deno.addSignalListener(sig, fn);
  return () => {
    for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
  };
}

let listening = 0;
let held: StopSignal | null = null;
let holding = false;

/**
 * From now on, a stop signal that arrives while no run listens (during start-up: loading the
 * config and data, opening the device, compiling kernels) is kept and handed to the next
 * {@link listenForStopSignals}, so the run stops cleanly after its first step instead of the
 * process dying half-way through setting up its run directory. A second signal while one is held
 * exits at once with the signal's code (Ctrl-C twice: quit now). Without this, Deno's default
 * action kills the process, which is what a `--parallel` child signalled in its first seconds
 * suffered.
 */
export function holdStopSignals(): void {
  if (holding) return;
  holding = true;
  addHandlers((sig) => {
    if (listening > 0) return;
    if (held) Deno.exit(sig === "SIGINT" ? 130 : stopExitCode(sig));
    held = sig;
    console.error(`${sig}: stopping after the first step (send it again to quit now)`);
  });
}

/** The signal held by {@link holdStopSignals} that no run has taken yet, if any. */
export function heldStopSignal(): StopSignal | null {
  return held;
}

/**
 * Calls `onStop` for every stop signal the process receives, until the returned function removes
 * the listeners. Only the first signal matters to a run (the callers keep the first reason). A
 * signal held since start-up ({@link holdStopSignals}) is delivered at once.
 *
 * @example
 * ```ts
 * const remove = listenForStopSignals((sig) => loop.requestStop(sig));
 * try { await loop.run(); } finally { remove(); }
 * ```
 */
export function listenForStopSignals(onStop: (signal: StopSignal) => void): () => void {
  listening++;
  const remove = addHandlers(onStop);
  if (held) {
    const sig = held;
    held = null;
    queueMicrotask(() => onStop(sig));
  }
  return () => {
    listening--;
    remove();
  };
}
