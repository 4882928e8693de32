/**
 * PyTorch parity: a tiny GPT's initial weights and one batch go to gpt_reference.py (plain
 * PyTorch, same math); its logits, loss, gradients and 10 AdamW-step losses are the truth.
 * Tolerances from REFERENCE.md §4 (llm.c's contract, tightened to 1e-3 for the AdamW losses).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../../src/nn/gpt.ts";
import {
  readSafetensors,
  type SafetensorsTensor,
  writeSafetensors,
} from "../../src/nn/safetensors.ts";
import { AdamW } from "../../src/optim/adamw.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { hasPyTorch, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { runPython } from "../_support/python.ts";
import { gptConfig } from "../_support/gpt.ts";

const SCRIPT = new URL("./gpt_reference.py", import.meta.url).pathname;
const available = (await hasPyTorch()) && (await hasWebGpuAdapter());
const OPTIMIZER = {
  lr: 1e-2,
  betas: [0.9, 0.95] as [number, number],
  eps: 1e-8,
  weight_decay: 0.1,
  max_grad_norm: 1.0,
  steps: 10,
};

const base = gptConfig({
  vocab_size: 61,
  max_seq_len: 16,
  n_layer: 2,
  n_head: 2,
  d_model: 32,
});

/** A fixed pseudo-random batch; a few targets are -1 (ignored). */
function makeBatch(cfg: GPTConfig, batch: number, seqLen: number) {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % cfg.vocab_size;
  const ids = Int32Array.from({ length: batch * seqLen }, next);
  const targets = Int32Array.from(
    { length: batch * seqLen },
    (_, i) => (i % 7 === 3 ? -1 : next()),
  );
  return { ids, targets };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function runPyTorch(dir: string): Promise<void> {
  await runPython([SCRIPT, dir], { env: { OMP_NUM_THREADS: "1" } });
}

async function checkParity(cfg: GPTConfig): Promise<void> {
  const dev = await Device.open();
  const dir = await Deno.makeTempDir({ prefix: "kiln-parity-" });
  try {
    const [batch, seqLen] = [3, cfg.max_seq_len];
    const model = new GPT(dev, cfg, { seed: 42 });
    const { ids, targets } = makeBatch(cfg, batch, seqLen);

    const initial = await model.params.read();
    const weights = new Map<string, SafetensorsTensor>();
    for (const [name, t] of model.params.tensors) {
      weights.set(name, { dtype: "F32", shape: [...t.shape], data: initial.get(name)! });
    }
    await writeSafetensors(join(dir, "weights.safetensors"), weights);
    await writeSafetensors(
      join(dir, "batch.safetensors"),
      new Map<string, SafetensorsTensor>([
        ["ids", { dtype: "I32", shape: [batch, seqLen], data: ids }],
        ["targets", { dtype: "I32", shape: [batch, seqLen], data: targets }],
      ]),
    );
    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify({ model: cfg, optimizer: OPTIMIZER }),
    );
    await runPyTorch(dir);
    const truth = await readSafetensors(join(dir, "out.safetensors"));
    const truthJson = JSON.parse(await Deno.readTextFile(join(dir, "out.json")));

    const idsT = Tensor.fromArray(dev, ids, [batch, seqLen], { dtype: "i32" });
    const targetsT = Tensor.fromArray(dev, targets, [batch, seqLen], { dtype: "i32" });

    const logits = noGrad(() => model.forward(idsT).logits!);
    assert.deepEqual(logits.shape, [batch, seqLen, cfg.vocab_size]);
    const logitsDiff = maxAbsDiff(
      await logits.toArray(),
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

    let checked = 0;
    let worstGrad = 0;
    for (const [name, t] of model.params.tensors) {
      const ref = truth.tensors.get(`grad.${name}`);
      assert.ok(ref, `PyTorch has no gradient for ${name}`);
      const got = await t.grad!.toArray();
      const rel = maxAbsDiff(got, ref.data as Float32Array) /
        Math.max(maxAbs(ref.data as Float32Array), 1e-12);
      assert.ok(rel <= 2e-2, `gradient of ${name} differs by ${rel} relative`);
      worstGrad = Math.max(worstGrad, rel);
      checked++;
    }
    assert.equal(checked, truth.tensors.size - 1);

    model.params.write(initial);
    const adam = new AdamW(model.params, {
      lr: OPTIMIZER.lr,
      betas: OPTIMIZER.betas,
      eps: OPTIMIZER.eps,
      weightDecay: OPTIMIZER.weight_decay,
    });
    const losses: number[] = [];
    for (let step = 0; step < OPTIMIZER.steps; step++) {
      model.params.zeroGrad();
      const stepLoss = model.forward(idsT, { targets: targetsT }).loss!;
      stepLoss.backward();
      adam.step({ lr: OPTIMIZER.lr, maxGradNorm: OPTIMIZER.max_grad_norm });
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
    assert.ok(losses[9] < losses[0] - 0.1, `loss did not fall: ${losses}`);
  } finally {
    dev.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: GPT (learned positions, tied head) matches PyTorch",
  async () => {
    await checkParity(base);
  },
);

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: GPT (RoPE, untied head, no bias, d_ffn 48) matches PyTorch",
  async () => {
    await checkParity({
      ...base,
      positional: "rope",
      tie_embeddings: false,
      bias: false,
      d_ffn: 48,
    });
  },
);
