/**
 * The spike guard of `guards.spike_factor`: on every log step whose loss and gradient are finite,
 * the loss and the gradient norm are compared with the running median of their last
 * {@link SPIKE_WINDOW} logged values. A value above `spike_factor` × its median is a spike — often
 * the step before a run diverges to NaN — and the trainer then logs a `spike` event and writes an
 * emergency checkpoint of the last state that passed this check, so a crash that follows loses
 * nothing but the steps since.
 * The history sits in the train state: a resume or the NaN rollback sees the same medians.
 *
 * @module
 */

/** How many recent logged values the running median looks at. */
export const SPIKE_WINDOW = 32;
/** Values needed before a median is trusted (the first steps' losses fall fast anyway). */
export const SPIKE_MIN_HISTORY = 5;

/** The part of the train state the spike guard owns. */
export interface SpikeState {
  spike_history?: { loss: number[]; grad_norm: number[] };
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (!values.length) throw new Error("median: no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Checks one log step's loss and gradient norm (null: not measured) against the running medians
 * and then adds them to the history. Returns the spike's description, or null; always null when
 * `factor` is 0 (the guard is off).
 */
export function checkSpike(
  state: SpikeState,
  factor: number,
  loss: number,
  gradNorm: number | null,
): string | null {
  if (factor <= 0) return null;
  const h = state.spike_history ??= { loss: [], grad_norm: [] };
  const found: string[] = [];
  const observe = (name: "loss" | "grad_norm", value: number) => {
    const past = h[name];
    if (past.length >= SPIKE_MIN_HISTORY) {
      const m = median(past);
      if (value > factor * m) {
        found.push(`${name} ${value.toPrecision(5)} > ${factor} × median ${m.toPrecision(5)}`);
      }
    }
    // Spikes join the history too, so a lasting shift in level stops counting as one.
    past.push(value);
    if (past.length > SPIKE_WINDOW) past.shift();
  };
  observe("loss", loss);
  if (gradNorm !== null && Number.isFinite(gradNorm)) observe("grad_norm", gradNorm);
  return found.length ? found.join("; ") : null;
}
