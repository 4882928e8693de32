/**
 * Gradient checkpointing (`training.checkpoint_activations`): the peak of GPU bytes in use during
 * a training step and the step time, with and without, on the shakespeare_char model's shape
 * (configs/shakespeare_char.yaml: 6 layers, 6 heads, d 384, context 256, no biases, dropout 0.2,
 * tied head), at a batch small enough for lavapipe. Also checks that both modes give the same
 * losses bit for bit.
 *
 *   deno run -A bench/checkpoint_activations.ts [--batch 2] [--seq-len 256] [--steps 2]
 *                                               [--warmup 1] [--rounds 1] [--layers 6] [--d-model 384]
 *
 * The modes alternate for --rounds rounds (the shared machine's load drifts); the best round of
 * each is reported.
 */

import { parseArgs } from "node:util";
import { Device } from "../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../src/nn/gpt.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { ops } from "../src/tensor/ops.ts";
import { noGrad, stepScope, Tensor } from "../src/tensor/tensor.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";
import { randomIds } from "./train_step.ts";

const HELP =
  `usage: deno run -A bench/checkpoint_activations.ts [--batch N] [--seq-len T] [--steps N]
       [--warmup N] [--rounds N] [--layers L] [--d-model D]
Peak GPU bytes and ms/step of a training step with and without gradient checkpointing.`;

const args = parseArgs({
  options: {
    batch: { type: "string", default: "2" },
    "seq-len": { type: "string", default: "256" },
    steps: { type: "string", default: "2" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "1" },
    layers: { type: "string", default: "6" },
    "d-model": { type: "string", default: "384" },
    help: { type: "boolean", default: false },
  },
});
if (args.values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const int = (key: keyof typeof args.values) => {
  const n = Number(args.values[key]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${key}: expected a positive integer, found ${args.values[key]}`);
    Deno.exit(2);
  }
  return n;
};
const [batch, seqLen, steps, warmup] = [int("batch"), int("seq-len"), int("steps"), int("warmup")];
const [nLayer, dModel, rounds] = [int("layers"), int("d-model"), int("rounds")];

const cfg: GPTConfig = {
  name: "gpt",
  vocab_size: 65,
  max_seq_len: seqLen,
  n_layer: nLayer,
  n_head: 6,
  d_model: dModel,
  dropout: 0.2,
  bias: false,
  tie_embeddings: true,
  positional: "learned",
};

const loadavg = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3);

/** Warm-up and timed steps of one mode: losses, ms per timed step, peak bytes of any step. */
async function measure(dev: Device, checkpointActivations: boolean) {
  const model = new GPT(dev, cfg, { seed: 1 });
  const adam = new AdamW(model.params, { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const n = batch * seqLen;
  const ids = Tensor.fromArray(dev, randomIds(n, 65, 1), [batch, seqLen], { dtype: "i32" });
  const targets = Tensor.fromArray(dev, randomIds(n, 65, 2), [batch, seqLen], { dtype: "i32" });
  const lossSum = Tensor.zeros(dev, []);
  const losses: number[] = [];
  let peak = 0;
  let held = 0;
  let timedMs = 0;
  for (let s = 0; s < warmup + steps; s++) {
    await dev.sync();
    const start = performance.now();
    dev.pool.resetPeak();
    held = dev.bytesInUse(); // AdamW's moments and the batch, held across steps
    model.params.zeroGrad();
    stepScope(() => {
      const opts = { targets, train: true, dropoutSeed: s, checkpointActivations };
      const loss = model.forward(ids, opts).loss!;
      noGrad(() => ops.accumulate(lossSum, loss));
      loss.backward();
    });
    adam.step({ lr: 1e-3, maxGradNorm: 1 });
    dev.flush();
    peak = Math.max(peak, dev.pool.peakBytes());
    await dev.sync();
    if (s >= warmup) timedMs += performance.now() - start;
    losses.push((await lossSum.toArray())[0]);
    lossSum.write([0]);
  }
  for (const t of [ids, targets, lossSum]) t.release();
  adam.release();
  model.params.destroy();
  return { losses, msPerStep: timedMs / steps, peak, held };
}

const dev = await Device.open({ tuneCache: fileTuneCache() });
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
console.log(`${dev.description}; ${nLayer}L d${dModel} T${seqLen} B${batch}, ${steps} timed steps`);
const best: Awaited<ReturnType<typeof measure>>[] = [];
for (let round = 0; round < rounds; round++) {
  for (const [i, on] of [false, true].entries()) {
    const before = await loadavg();
    const r = await measure(dev, on);
    const after = await loadavg();
    if (!best[i] || r.msPerStep < best[i].msPerStep) best[i] = r;
    console.log(
      `round ${round + 1} checkpoint_activations ${on}: peak ${mib(r.peak)} MiB (held before ` +
        `the step ${mib(r.held)} MiB), ` +
        `${r.msPerStep.toFixed(0)} ms/step, losses ${r.losses.map((l) => l.toFixed(4)).join(" ")}` +
        `; load ${before.join(" ")} → ${after.join(" ")}`,
    );
    dev.pool.trim();
  }
}
const [off, on] = best;
const same = off.losses.every((l, i) => Object.is(l, on.losses[i]));
console.log(
  `peak ×${(on.peak / off.peak).toFixed(2)} (${mib(off.peak - on.peak)} MiB less), step time ` +
    `×${(on.msPerStep / off.msPerStep).toFixed(2)}; losses bit-identical: ${same ? "yes" : "NO"}`,
);
dev.destroy();
if (!same) Deno.exit(1);
