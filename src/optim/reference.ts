/**
 * Float64 CPU oracle for the optimizer: torch.nn.utils.clip_grad_norm_ followed by
 * torch.optim.AdamW's single-tensor update, written out step by step. Tests judge the GPU
 * optimizer against it.
 *
 * @module
 */

/** State of the reference optimizer: parameters, moments and applied steps. */
export interface ReferenceAdamWState {
  params: Float64Array;
  m: Float64Array;
  v: Float64Array;
  step: number;
  skipped: number;
}

/** Hyper-parameters of one reference step. */
export interface ReferenceAdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Per element: whether weight decay applies. */
  decay: ArrayLike<boolean>;
  /** Clip to this global norm; 0 or absent = no clipping. */
  maxGradNorm?: number;
}

/** L2 norm of all gradients. */
export function referenceGradNorm(grads: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i] * grads[i];
  return Math.sqrt(s);
}

/**
 * One AdamW step in place on `state` (PyTorch order: clip, decay, moments, bias-corrected
 * update). A non-finite gradient norm skips the step and counts it, as the GPU kernel does.
 */
export function referenceAdamWStep(
  state: ReferenceAdamWState,
  grads: ArrayLike<number>,
  h: ReferenceAdamWStep,
): void {
  const norm = referenceGradNorm(grads);
  if (!Number.isFinite(norm)) {
    state.skipped++;
    return;
  }
  const clip = h.maxGradNorm ? Math.min(1, h.maxGradNorm / (norm + 1e-6)) : 1;
  state.step++;
  const bc1 = 1 - h.beta1 ** state.step;
  const bc2Sqrt = Math.sqrt(1 - h.beta2 ** state.step);
  const stepSize = h.lr / bc1;
  for (let i = 0; i < state.params.length; i++) {
    const g = grads[i] * clip;
    if (h.decay[i]) state.params[i] *= 1 - h.lr * h.weightDecay;
    state.m[i] = h.beta1 * state.m[i] + (1 - h.beta1) * g;
    state.v[i] = h.beta2 * state.v[i] + (1 - h.beta2) * g * g;
    const denom = Math.sqrt(state.v[i]) / bc2Sqrt + h.eps;
    state.params[i] -= stepSize * state.m[i] / denom;
  }
}
