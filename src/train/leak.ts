/**
 * Leak detection: GPU bytes in use are measured after every optimizer step; a run whose bytes
 * grow for `steps` consecutive steps is leaking (a tensor made every step that nothing frees),
 * and the trainer logs a `leak` event once, naming the growth per step.
 *
 * @module
 */

/** Consecutive growing steps that make a leak (a real model's bytes are flat after step 1). */
export const LEAK_STEPS = 8;

/** Formats a byte count with thousands separators: 3328 → "3,328 B". */
export function formatBytes(bytes: number): string {
  return `${Math.round(bytes).toLocaleString("en-US")} B`;
}

/**
 * Watches `gpu_bytes` step by step.
 *
 * @example
 * ```ts
 * const leaks = new LeakDetector();
 * const detail = leaks.observe(step, dev.bytesInUse());
 * if (detail) log({ type: "event", event: "leak", detail });
 * ```
 */
export class LeakDetector {
  private last: number | null = null;
  private streakStart: { step: number; bytes: number } | null = null;
  private streak = 0;
  private reported = false;

  constructor(readonly steps = LEAK_STEPS) {}

  /** Records the bytes after `step`; returns the event's detail the first time a leak shows. */
  observe(step: number, bytes: number): string | null {
    const prev = this.last;
    this.last = bytes;
    if (prev === null || bytes <= prev) {
      this.streak = 0;
      this.streakStart = { step, bytes };
      return null;
    }
    this.streak++;
    this.streakStart ??= { step: step - 1, bytes: prev };
    if (this.reported || this.streak < this.steps) return null;
    this.reported = true;
    const start = this.streakStart;
    const perStep = (bytes - start.bytes) / (step - start.step);
    return `gpu_bytes grew for ${this.streak} consecutive steps by ${formatBytes(perStep)} per ` +
      `step (${formatBytes(start.bytes)} at step ${start.step} → ${formatBytes(bytes)} at step ` +
      `${step}): a tensor made every step is never freed; release it, or make caches once ` +
      `with untracked()`;
  }
}
