/**
 * Learning-rate schedules: linear warmup, then cosine | linear | constant decay down to a floor.
 * Same semantics as nanoGPT's `get_lr`, so configs ported from nanoGPT reproduce its curve.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";

/** How the learning rate falls after warmup. */
export type LrDecay = "cosine" | "linear" | "constant";

/** The schedule's settings (steps count from 0). */
export interface LrSchedule {
  /** Peak learning rate, reached right after warmup. */
  lr: number;
  /** Floor the decay ends at (and stays at past `totalSteps`). Default 0. */
  minLr?: number;
  /** Steps of linear warmup. Default 0. */
  warmupSteps?: number;
  /** Step at which the decay reaches `minLr` (nanoGPT's `lr_decay_iters`). */
  totalSteps: number;
  /** Shape of the decay. Default "cosine". */
  decay?: LrDecay;
}

/**
 * Learning rate at `step` (0-based). Warmup is `lr·(step+1)/(warmupSteps+1)` as in nanoGPT, so the
 * first step never uses a zero rate; past `totalSteps` the rate is `minLr`; "constant" holds `lr`
 * after warmup.
 *
 * @example
 * ```ts
 * learningRate(0, { lr: 1e-3, minLr: 1e-4, warmupSteps: 100, totalSteps: 5000 }); // 1e-3/101
 * ```
 */
export function learningRate(step: number, schedule: LrSchedule): number {
  const { lr, minLr = 0, warmupSteps = 0, totalSteps, decay = "cosine" } = schedule;
  if (!Number.isFinite(step) || step < 0) {
    throw new UserError(`learningRate: step must be a non-negative number, found ${step}`);
  }
  if (decay !== "cosine" && decay !== "linear" && decay !== "constant") {
    throw new UserError(`learningRate: unknown decay "${decay}" (cosine, linear, constant)`);
  }
  if (step < warmupSteps) return lr * (step + 1) / (warmupSteps + 1);
  if (decay === "constant") return lr;
  if (step > totalSteps) return minLr;
  // A schedule whose decay window is empty (totalSteps <= warmupSteps) has nothing to decay over.
  if (totalSteps <= warmupSteps) return minLr;
  const ratio = (step - warmupSteps) / (totalSteps - warmupSteps);
  const coefficient = decay === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * ratio)) : 1 - ratio;
  return minLr + coefficient * (lr - minLr);
}
