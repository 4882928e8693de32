/**
 * The PyTorch parity protocol the reference tests share: a model's initial weights, one batch and
 * the optimizer settings go to a reference script (gpt_reference.py's `run_parity`); its logits,
 * loss, gradients and 10 AdamW-step losses are the truth. Tolerances from REFERENCE.md §4 (llm.c's
 * contract, tightened to 1e-3 for the AdamW losses).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readSafetensors,
  type SafetensorsTensor,
  writeSafetensors,
} from "../../src/nn/safetensors.ts";
import { AdamW } from "../../src/optim/adamw.ts";
import type { ParameterSet } from "../../src/tensor/parameters.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { runPython } from "../_support/python.ts";

/** The optimizer both sides run for the step-loss comparison. */
export const PARITY_OPTIMIZER = {
  lr: 1e-2,
  betas: [0.9, 0.95] as [number, number],
  eps: 1e-8,
  weight_decay: 0.1,
  max_grad_norm: 1.0,
  steps: 10,
};

/** What the harness needs of a model: its parameters and a forward with optional targets. */
export interface ParityModel {
  params: ParameterSet;
  forward(ids: Tensor, opts?: { targets?: Tensor }): { logits?: Tensor; loss?: Tensor };
}

/** One parity case: the model, its batch, its reference script and config as JSON. */
export interface ParityCase {
  model: ParityModel;
  /** The model config written to config.json for the reference script. */
  config: unknown;
  script: string;
  ids: Int32Array;
  targets: Int32Array;
  batch: number;
  seqLen: number;
  /**
   * kiln's logits as the reference reports them (e.g. the decoder positions only); the identity
   * when absent.
   */
  selectLogits?: (logits: Float32Array) => Float32Array;
}

/** Largest |a[i] − b[i]| (the arrays must have one length). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Largest |a[i]|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Runs the case against its reference script and asserts every quantity within tolerance. */
export async function checkParity(c: ParityCase): Promise<void> {
  const { model, batch, seqLen } = c;
  const dev = model.params.device;
  const dir = await Deno.makeTempDir({ prefix: "kiln-parity-" });
  try {
    const initial = await model.params.read();
    const weights = new Map<string, SafetensorsTensor>();
    for (const [name, t] of model.params.tensors) {
      weights.set(name, { dtype: "F32", shape: [...t.shape], data: initial.get(name)! });
    }
    await writeSafetensors(join(dir, "weights.safetensors"), weights);
    await writeSafetensors(
      join(dir, "batch.safetensors"),
      new Map<string, SafetensorsTensor>([
        ["ids", { dtype: "I32", shape: [batch, seqLen], data: c.ids }],
        ["targets", { dtype: "I32", shape: [batch, seqLen], data: c.targets }],
      ]),
    );
    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify({ model: c.config, optimizer: PARITY_OPTIMIZER }),
    );
    await runPython([c.script, dir], { env: { OMP_NUM_THREADS: "1" } });
    const truth = await readSafetensors(join(dir, "out.safetensors"));
    const truthJson = JSON.parse(await Deno.readTextFile(join(dir, "out.json")));

    const idsT = Tensor.fromArray(dev, c.ids, [batch, seqLen], { dtype: "i32" });
    const targetsT = Tensor.fromArray(dev, c.targets, [batch, seqLen], { dtype: "i32" });
    const logits = await noGrad(() => model.forward(idsT).logits!).toArray() as Float32Array;
    const logitsDiff = maxAbsDiff(
      c.selectLogits ? c.selectLogits(logits) : logits,
      truth.tensors.get("logits")!.data as Float32Array,
    );
    assert.ok(logitsDiff <= 1e-3, `logits differ by ${logitsDiff}`);

    model.params.zeroGrad();
    const loss = model.forward(idsT, { targets: targetsT }).loss!;
    loss.backward();
    const lossValue = await loss.item();
    assert.ok(
      Math.abs(lossValue - truthJson.loss) <= 1e-5,
      `loss ${lossValue} vs ${truthJson.loss}`,
    );
    let worstGrad = 0;
    for (const [name, t] of model.params.tensors) {
      const ref = truth.tensors.get(`grad.${name}`);
      assert.ok(ref, `PyTorch has no gradient for ${name}`);
      const got = await t.grad!.toArray();
      const rel = maxAbsDiff(got, ref.data as Float32Array) /
        Math.max(maxAbs(ref.data as Float32Array), 1e-12);
      assert.ok(rel <= 2e-2, `gradient of ${name} differs by ${rel} relative`);
      worstGrad = Math.max(worstGrad, rel);
    }
    assert.equal(model.params.tensors.size, truth.tensors.size - 1);

    model.params.write(initial);
    const o = PARITY_OPTIMIZER;
    const adam = new AdamW(model.params, {
      lr: o.lr,
      betas: o.betas,
      eps: o.eps,
      weightDecay: o.weight_decay,
    });
    const losses: number[] = [];
    for (let step = 0; step < o.steps; step++) {
      model.params.zeroGrad();
      const stepLoss = model.forward(idsT, { targets: targetsT }).loss!;
      stepLoss.backward();
      adam.step({ lr: o.lr, maxGradNorm: o.max_grad_norm });
      losses.push(await stepLoss.item());
      stepLoss.release();
    }
    const lossDiff = maxAbsDiff(losses, truthJson.losses);
    assert.ok(
      lossDiff <= 1e-3,
      `AdamW losses differ by ${lossDiff}: ${losses} vs ${truthJson.losses}`,
    );
    console.log(
      `  max |Δ|: logits ${logitsDiff.toExponential(1)}, loss ` +
        `${Math.abs(lossValue - truthJson.loss).toExponential(1)}, grads (relative) ` +
        `${worstGrad.toExponential(1)}, AdamW losses ${lossDiff.toExponential(1)}`,
    );
    // The optimizer must actually have trained (a frozen model would match nothing above).
    assert.ok(losses[o.steps - 1] < losses[0] - 0.1, `loss did not fall: ${losses}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
