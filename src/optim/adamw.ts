/**
 * AdamW over flat parameters: one dispatch updates every parameter, after a two-stage global
 * gradient-norm reduction and a one-invocation "prepare" kernel that handles clipping, the
 * non-finite guard and bias correction on the GPU. Frozen parameters (`setTrainable`) are skipped:
 * no update, no moment decay, no weight decay (PyTorch skips a parameter whose grad is None). A training step therefore needs no readback.
 * Kernels: shaders/adamw.wgsl.
 *
 * @module
 */

import type { Device } from "../gpu/device.ts";
import { defineKernel, grid1d } from "../gpu/kernel.ts";
import { Tensor } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";

const WORKGROUP = 256;
/** Matches NORM_GROUPS in adamw.wgsl. */
const NORM_GROUPS = 256;

const normPartialKernel = defineKernel({
  shader: "adamw",
  entryPoint: "grad_norm_partial",
  uniforms: [["n", "u32"]],
});
const normFinalKernel = defineKernel({
  shader: "adamw",
  entryPoint: "grad_norm_final",
  uniforms: [["count", "u32"]],
});
const prepareKernel = defineKernel({
  shader: "adamw",
  entryPoint: "adamw_prepare",
  uniforms: [["beta1", "f32"], ["beta2", "f32"], ["max_norm", "f32"]],
});
const updateKernel = defineKernel({
  shader: "adamw",
  entryPoint: "adamw_update",
  uniforms: [["n", "u32"], ["lr", "f32"], ["beta1", "f32"], ["beta2", "f32"], ["eps", "f32"], [
    "weight_decay",
    "f32",
  ]],
});

/** One parameter's place in the flat buffers. */
export interface FlatParameterEntry {
  /** Element offset in the flat buffer. */
  offset: number;
  /** Element count. */
  numel: number;
  /** Whether weight decay applies to it. */
  decay: boolean;
}

/** What AdamW needs from a parameter set: the flat buffers and where each parameter lives. */
export interface FlatParameters {
  /** Every parameter in one tensor. */
  readonly flat: Tensor;
  /** Every gradient in one tensor, same layout as `flat`. */
  readonly flatGrad: Tensor;
  /** The parameters' ranges in `flat` (gaps between them are padding). */
  readonly entries: readonly FlatParameterEntry[];
  /**
   * Bumped whenever the set of frozen parameters changes (`ParameterSet.setTrainable`); AdamW
   * then re-uploads {@link FlatParameters.trainableBits} before its next step.
   */
  readonly trainableVersion?: number;
  /** One bit per flat element, set where the element may be updated (absent: all may). */
  trainableBits?(): Uint32Array;
}

/** Hyper-parameters of `AdamW` (PyTorch's defaults). */
export interface AdamWOptions {
  /** Learning rate used when `step` is not given one. */
  lr: number;
  /** Moment decay rates. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the bias-corrected sqrt of v. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay, applied only to parameters with `decay: true`. Default 0.01. */
  weightDecay?: number;
  /** Decay every parameter, ignoring the entries' `decay` flags. Default false. */
  decayAll?: boolean;
}

/** Checkpointable optimizer state: flat moments (the parameters' layout) and applied steps. */
export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
  step: number;
}

/**
 * torch.optim.AdamW on the GPU over a flat parameter buffer. Per element:
 * `p ← p·(1 − lr·wd)` (decaying parameters only), `m ← β1·m + (1−β1)·g`,
 * `v ← β2·v + (1−β2)·g²`, `p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps)`, where g is the gradient
 * scaled by `min(1, maxGradNorm/(‖g‖ + 1e-6))` as torch.nn.utils.clip_grad_norm_ does. When ‖g‖ is
 * not finite the step is skipped on the GPU (t does not advance) and a counter is bumped.
 *
 * @example
 * ```ts
 * const opt = new AdamW(model.params, { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
 * loss.backward();
 * const norm = opt.gradNorm();            // optional, for logging (read it rarely)
 * opt.step({ lr: learningRate(step, schedule), maxGradNorm: 1 });
 * ```
 */
export class AdamW {
  readonly #device: Device;
  readonly #params: FlatParameters;
  readonly #lr: number;
  readonly #betas: [number, number];
  readonly #eps: number;
  readonly #weightDecay: number;
  readonly #m: Tensor;
  readonly #v: Tensor;
  readonly #decayMask: Tensor;
  readonly #trainableMask: Tensor;
  #trainableVersion = -1;
  readonly #partials: Tensor;
  readonly #norm: Tensor;
  /** u32 [applied steps, skipped steps]. */
  readonly #counters: Tensor;
  /** f32 [clip factor, apply flag, 1 − β1ᵗ, √(1 − β2ᵗ)], written by adamw_prepare. */
  readonly #stepInfo: Tensor;
  #normFresh = false;
  #steps = 0;

  constructor(params: FlatParameters, opts: AdamWOptions) {
    const [beta1, beta2] = opts.betas ?? [0.9, 0.999];
    checkHyper("lr", opts.lr, 0);
    checkHyper("beta1", beta1, 0, 1);
    checkHyper("beta2", beta2, 0, 1);
    this.#eps = opts.eps ?? 1e-8;
    this.#weightDecay = opts.weightDecay ?? 0.01;
    checkHyper("eps", this.#eps, 0);
    checkHyper("weightDecay", this.#weightDecay, 0);
    this.#device = params.flat.device;
    this.#params = params;
    this.#lr = opts.lr;
    this.#betas = [beta1, beta2];
    const n = params.flat.size;
    if (params.flatGrad.size !== n) {
      throw new Error(`AdamW: ${params.flatGrad.size} gradients for ${n} parameters`);
    }
    const dev = this.#device;
    this.#m = Tensor.zeros(dev, [n]);
    this.#v = Tensor.zeros(dev, [n]);
    this.#decayMask = Tensor.fromArray(dev, decayMaskBits(n, params.entries, opts.decayAll), [
      Math.max(1, Math.ceil(n / 32)),
    ], { dtype: "u32" });
    this.#trainableMask = Tensor.fromArray(
      dev,
      new Uint32Array(Math.max(1, Math.ceil(n / 32))).fill(0xffffffff),
      [Math.max(1, Math.ceil(n / 32))],
      { dtype: "u32" },
    );
    this.#partials = Tensor.empty(dev, [NORM_GROUPS]);
    this.#norm = Tensor.zeros(dev, []);
    this.#counters = Tensor.zeros(dev, [2], { dtype: "u32" });
    this.#stepInfo = Tensor.zeros(dev, [4]);
  }

  /** Number of `step()` calls (including steps the GPU skipped as non-finite). */
  get stepCount(): number {
    return this.#steps;
  }

  /**
   * Records the global L2 norm of the flat gradients (before clipping) and returns it as a scalar
   * tensor owned by the optimizer: do not release it; the next `gradNorm()`/`step()` overwrites
   * it. Call it after the step's last `backward()`; `step()` then reuses it instead of
   * recomputing.
   */
  gradNorm(): Tensor {
    const grads = this.#params.flatGrad;
    normPartialKernel.dispatch(this.#device, {
      bindings: [grads, this.#partials],
      uniforms: { n: grads.size },
      workgroups: [NORM_GROUPS],
    });
    normFinalKernel.dispatch(this.#device, {
      bindings: [this.#partials, this.#norm],
      uniforms: { count: NORM_GROUPS },
      workgroups: [1],
    });
    this.#normFresh = true;
    return this.#norm;
  }

  /**
   * Records one optimizer step (no submit, no readback): clip by the GPU-computed global norm
   * when `maxGradNorm` > 0, then the AdamW update in one dispatch over the flat buffer. A
   * non-finite gradient norm leaves parameters and moments untouched and counts a skipped step.
   */
  step(opts: { lr?: number; maxGradNorm?: number } = {}): void {
    const lr = opts.lr ?? this.#lr;
    checkHyper("lr", lr, 0);
    if (!this.#normFresh) this.gradNorm();
    this.#normFresh = false;
    const [beta1, beta2] = this.#betas;
    prepareKernel.dispatch(this.#device, {
      bindings: [this.#norm, this.#counters, this.#stepInfo],
      uniforms: { beta1, beta2, max_norm: opts.maxGradNorm ?? 0 },
      workgroups: [1],
    });
    this.#syncTrainable();
    const { flat, flatGrad } = this.#params;
    updateKernel.dispatch(this.#device, {
      bindings: [
        flat,
        flatGrad,
        this.#m,
        this.#v,
        this.#decayMask,
        this.#stepInfo,
        this.#trainableMask,
      ],
      uniforms: { n: flat.size, lr, beta1, beta2, eps: this.#eps, weight_decay: this.#weightDecay },
      workgroups: grid1d(flat.size, WORKGROUP),
    });
    this.#steps++;
  }

  /** Uploads the trainable mask when the parameter set's frozen set changed since last time. */
  #syncTrainable(): void {
    const version = this.#params.trainableVersion;
    if (version === undefined || version === this.#trainableVersion) return;
    const bits = this.#params.trainableBits?.();
    if (bits) this.#trainableMask.write(bits);
    this.#trainableVersion = version;
  }

  /**
   * The skipped-steps counter as a one-element u32 view, for a combined readback
   * (`readScalars`); the caller releases the view.
   */
  skippedCounter(): Tensor {
    return this.#counters.view(1, [1]);
  }

  /** Steps skipped because the gradient norm was not finite (one readback). */
  async skippedSteps(): Promise<number> {
    return (await this.#counters.toArray())[1];
  }

  /** Moments and the number of applied steps, for checkpoints (readbacks). */
  async state(): Promise<AdamWState> {
    const m = await this.#m.toArray() as Float32Array;
    const v = await this.#v.toArray() as Float32Array;
    const counters = await this.#counters.toArray();
    return { m, v, step: counters[0] };
  }

  /** Restores `state()` output (queued uploads, ordered with recorded work). */
  loadState(s: AdamWState): void {
    const n = this.#params.flat.size;
    if (s.m.length !== n || s.v.length !== n) {
      throw new UserError(
        `optimizer state has ${s.m.length}/${s.v.length} moments for ${n} parameter slots`,
      );
    }
    if (!Number.isInteger(s.step) || s.step < 0) {
      throw new UserError(`optimizer state: step must be a non-negative integer, got ${s.step}`);
    }
    this.#m.write(s.m);
    this.#v.write(s.v);
    this.#counters.write([s.step, 0]);
    this.#steps = s.step;
    this.#normFresh = false;
  }

  /** Frees the optimizer's GPU buffers. */
  release(): void {
    for (const t of [this.#m, this.#v, this.#decayMask, this.#partials, this.#norm]) t.release();
    this.#trainableMask.release();
    this.#counters.release();
    this.#stepInfo.release();
  }
}

/**
 * One bit per flat element: set where the element belongs to a parameter with decay (to any
 * parameter with `all`; padding between parameters stays clear either way).
 */
export function decayMaskBits(
  n: number,
  entries: readonly FlatParameterEntry[],
  all = false,
): Uint32Array {
  const bits = new Uint32Array(Math.max(1, Math.ceil(n / 32)));
  for (const e of entries) {
    if (!e.decay && !all) continue;
    if (e.offset < 0 || e.offset + e.numel > n) {
      throw new Error(`AdamW: parameter range [${e.offset}, ${e.offset + e.numel}) outside ${n}`);
    }
    for (let i = e.offset; i < e.offset + e.numel; i++) bits[i >>> 5] |= 1 << (i & 31);
  }
  return bits;
}

function checkHyper(name: string, value: number, min: number, maxExclusive = Infinity): void {
  if (!Number.isFinite(value) || value < min || value >= maxExclusive) {
    const range = maxExclusive === Infinity ? `>= ${min}` : `in [${min}, ${maxExclusive})`;
    throw new UserError(`AdamW: ${name} must be ${range}, got ${value}`);
  }
}
