/**
 * A one-line terminal progress bar. It draws only when stderr is a terminal, so logs and CI
 * output stay clean; `done()` leaves the final line in place.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar({ total: 100, label: "train" });
 * for (let i = 1; i <= 100; i++) bar.update(i, `loss 1.23`);
 * bar.done();
 * ```
 */
export class ProgressBar {
  readonly total: number;
  readonly label: string;
  readonly enabled: boolean;
  private readonly start = performance.now();
  private lastDraw = 0;
  private current = 0;
  private encoder = new TextEncoder();

  constructor(opts: { total: number; label?: string; enabled?: boolean; unit?: string }) {
    this.total = Math.max(0, opts.total);
    this.label = opts.label ?? "";
    this.enabled = opts.enabled ?? Deno.stderr.isTerminal();
  }

  /** Moves the bar to `current` (absolute) with an optional status text. Redraws at most 10×/s. */
  update(current: number, status = ""): void {
    this.current = current;
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && current < this.total) return;
    this.lastDraw = now;
    this.draw(status);
  }

  /** Finishes the bar (a newline on a terminal). */
  done(status = ""): void {
    if (!this.enabled) return;
    this.draw(status);
    Deno.stderr.writeSync(this.encoder.encode("\n"));
  }

  private draw(status: string): void {
    const width = 30;
    const frac = this.total > 0 ? Math.min(1, this.current / this.total) : 0;
    const filled = Math.round(frac * width);
    const elapsed = (performance.now() - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 - frac) / frac : NaN;
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const pct = (frac * 100).toFixed(0).padStart(3);
    const line = `${this.label} ${bar} ${pct}% ${this.current}/${this.total} ` +
      `${formatDuration(elapsed)}<${formatDuration(eta)} ${status}`;
    const cols = consoleColumns();
    Deno.stderr.writeSync(this.encoder.encode("\r\x1b[2K" + line.slice(0, cols - 1)));
  }
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 120;
  }
}

/** Formats seconds as `1h02m`, `3m04s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}
