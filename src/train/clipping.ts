/**
 * Gradient clipping of `training.clip`: "fixed" clips the global norm at `max_grad_norm` (0 = off),
 * "adaptive" is AutoClip (Seetharaman et al. 2020): each step's pre-clip gradient norm joins a
 * history of the last `history` norms and the step clips at the `percentile`-th percentile of that
 * history (numpy's linear interpolation, as the paper's code uses). The adaptive mode reads the
 * norm back every step (one small sync). The history lives in the train state, so checkpoints
 * carry it and a resume — or the NaN rollback — continues from exactly the same clip values.
 *
 * @module
 */

import type { ClipConfig } from "../config/schema.ts";
import type { Device } from "../gpu/device.ts";
import type { AdamW } from "../optim/adamw.ts";
import { readScalars } from "../tensor/read_scalars.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** The part of the train state the clipper owns. */
export interface ClipState {
  /** Adaptive clipping: the recent finite pre-clip gradient norms, oldest first. */
  clip_history?: number[];
}

/** The `p`-th percentile (0–100) of `values` with linear interpolation (numpy's default). */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) throw new Error("percentile: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
}

/** Applies the configured clipping to each optimizer step and remembers the clip value used. */
export class GradientClipper {
  /** The clip value of the last step (undefined: not clipped). */
  lastClip: number | undefined;

  constructor(private readonly clip: ClipConfig, private readonly maxGradNorm: number) {}

  /**
   * Takes the optimizer step with this step's clip value. Adaptive mode: records the gradient
   * norm, reads it back, adds it to `state.clip_history` (finite norms only: a non-finite step is
   * skipped by the optimizer anyway) and clips at the history's percentile.
   */
  async step(dev: Device, optimizer: AdamW, lr: number, state: ClipState): Promise<void> {
    if (this.clip.mode === "fixed") {
      this.lastClip = this.maxGradNorm > 0 ? this.maxGradNorm : undefined;
    } else {
      const norm: Tensor = optimizer.gradNorm();
      const [value] = await readScalars(dev, [norm]);
      const history = state.clip_history ??= [];
      if (Number.isFinite(value!)) {
        history.push(value!);
        if (history.length > this.clip.history) {
          history.splice(0, history.length - this.clip.history);
        }
      }
      this.lastClip = history.length ? percentile(history, this.clip.percentile) : undefined;
    }
    optimizer.step({ lr, maxGradNorm: this.lastClip });
  }

  /** What a train line logs: the clip value in adaptive mode. */
  metrics(): Record<string, number> {
    return this.clip.mode === "adaptive" && this.lastClip !== undefined
      ? { clip: this.lastClip }
      : {};
  }
}
