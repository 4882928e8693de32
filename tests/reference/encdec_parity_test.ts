/**
 * PyTorch parity of the encoder–decoders: `encdec` and `latent_encdec` (pure bottleneck and
 * factor 0.25) with kiln's initial weights and a batch whose sources are padded go to
 * encdec_reference.py (plain PyTorch, masks by masked_fill(-inf)); its decoder logits, loss,
 * gradients and 10 AdamW-step losses are the truth, at REFERENCE.md §4's tolerances.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../src/gpu/device.ts";
import { EncoderDecoder } from "../../src/nn/encdec.ts";
import type { GPTConfig } from "../../src/nn/gpt.ts";
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

const SCRIPT = new URL("./encdec_reference.py", import.meta.url).pathname;
const available = (await hasPyTorch()) && (await hasWebGpuAdapter());
const OPTIMIZER = {
  lr: 1e-2,
  betas: [0.9, 0.95] as [number, number],
  eps: 1e-8,
  weight_decay: 0.1,
  max_grad_norm: 1.0,
  steps: 10,
};
const SOURCE = 5;
const PAD = 13;

const base: GPTConfig = {
  ...gptConfig({ vocab_size: 14, max_seq_len: SOURCE + 7, n_layer: 2, n_head: 2, d_model: 24 }),
  name: "encdec",
  n_encoder_layer: 1,
  source_len: SOURCE,
  pad_id: PAD,
};

/** Rows: a source right-padded to SOURCE (lengths 5, 3, 1), then 7 decoder ids; −1 targets. */
function makeBatch(cfg: GPTConfig) {
  let s = 777;
  const next = (n: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
  const lengths = [5, 3, 1];
  const T = cfg.max_seq_len;
  const ids = new Int32Array(lengths.length * T);
  const targets = new Int32Array(lengths.length * T).fill(-1);
  lengths.forEach((len, r) => {
    for (let t = 0; t < T; t++) {
      ids[r * T + t] = t < SOURCE ? (t < len ? next(11) : PAD) : next(13);
      if (t >= SOURCE && (t + r) % 5 !== 2) targets[r * T + t] = next(13);
    }
  });
  return { ids, targets, batch: lengths.length, seqLen: T };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const maxAbs = (a: ArrayLike<number>) => maxAbsDiff(a, new Float32Array(a.length));

async function checkParity(cfg: GPTConfig, latent: boolean): Promise<void> {
  const dev = await Device.open();
  const dir = await Deno.makeTempDir({ prefix: "kiln-encdec-parity-" });
  try {
    const model = new EncoderDecoder(dev, cfg, { seed: 7, latent });
    const { ids, targets, batch, seqLen } = makeBatch(cfg);
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
    await runPython([SCRIPT, dir], { env: { OMP_NUM_THREADS: "1" } });
    const truth = await readSafetensors(join(dir, "out.safetensors"));
    const truthJson = JSON.parse(await Deno.readTextFile(join(dir, "out.json")));

    const idsT = Tensor.fromArray(dev, ids, [batch, seqLen], { dtype: "i32" });
    const targetsT = Tensor.fromArray(dev, targets, [batch, seqLen], { dtype: "i32" });
    const logits = await noGrad(() => model.forward(idsT).logits!).toArray();
    const V = cfg.vocab_size;
    // kiln's logits cover every position (zeros over the source); PyTorch's the decoder only.
    const decoderLogits = new Float32Array(batch * (seqLen - SOURCE) * V);
    for (let r = 0; r < batch; r++) {
      decoderLogits.set(
        logits.subarray((r * seqLen + SOURCE) * V, (r + 1) * seqLen * V),
        r * (seqLen - SOURCE) * V,
      );
      assert.equal(maxAbs(logits.subarray(r * seqLen * V, (r * seqLen + SOURCE) * V)), 0);
    }
    const logitsDiff = maxAbsDiff(decoderLogits, truth.tensors.get("logits")!.data as Float32Array);
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
    assert.ok(losses[9] < losses[0] - 0.1, `loss did not fall: ${losses}`);
  } finally {
    dev.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: encdec matches PyTorch",
  async () => {
    await checkParity(base, false);
  },
);

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: latent_encdec (pure bottleneck; factor 0.25, untied head) matches PyTorch",
  async () => {
    await checkParity({ ...base, name: "latent_encdec", num_latent: 3 }, true);
    await checkParity(
      {
        ...base,
        name: "latent_encdec",
        num_latent: 2,
        bottleneck_factor: 0.25,
        tie_embeddings: false,
      },
      true,
    );
  },
);
