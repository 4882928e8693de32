/**
 * Gradient checkpointing in the built-in models (`checkpointActivations`, what
 * `training.checkpoint_activations` passes): loss and the whole flat gradient buffer are
 * bit-identical to the default for GPTs (dropout on, RoPE, untied head) and the encoder–decoders
 * (dropout on, latent bottleneck); a few AdamW steps stay identical; the peak of GPU bytes in use
 * during a step is lower.
 */

import assert from "node:assert/strict";
import type { Device } from "../../src/gpu/device.ts";
import type { GPTConfig } from "../../src/nn/gpt.ts";
import { createModel } from "../../src/nn/models_all.ts";
import type { LanguageModel } from "../../src/nn/registry.ts";
import { AdamW } from "../../src/optim/adamw.ts";
import { checkpointsRecorded } from "../../src/tensor/checkpoint.ts";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, stepScope, Tensor } from "../../src/tensor/tensor.ts";
import { Mulberry32 } from "../../src/util/random.ts";
import { gptConfig } from "../_support/gpt.ts";
import { assertSameBits, gpuTest } from "../tensor/_helpers.ts";

const gpt = gptConfig({
  vocab_size: 29,
  max_seq_len: 12,
  n_layer: 3,
  n_head: 2,
  d_model: 24,
  dropout: 0.2,
});
const encdec: GPTConfig = {
  ...gptConfig({ vocab_size: 14, max_seq_len: 10, n_layer: 2, n_head: 2, d_model: 16 }),
  name: "encdec",
  dropout: 0.2,
  source_len: 5,
  pad_id: 13,
};

/** Seeded rows of `cfg`'s shape; the encoder–decoders' targets ignore the source positions. */
function batch(dev: Device, cfg: GPTConfig, rows: number, seed: number) {
  const t = cfg.max_seq_len;
  const rng = new Mulberry32(seed);
  const ids = Int32Array.from({ length: rows * t }, () => Math.floor(rng.next() * cfg.vocab_size));
  const source = cfg.source_len ?? 0;
  const targets = Int32Array.from(
    ids,
    (_, i) => (i % t < source ? -1 : Math.floor(rng.next() * (cfg.vocab_size - 1))),
  );
  if (cfg.pad_id !== undefined) ids[1] = cfg.pad_id; // a padded source position
  return {
    ids: Tensor.fromArray(dev, ids, [rows, t], { dtype: "i32" }),
    targets: Tensor.fromArray(dev, targets, [rows, t], { dtype: "i32" }),
  };
}

/** One training micro-step: loss, the flat gradient buffer and the step's peak bytes in use. */
async function step(
  model: LanguageModel,
  data: { ids: Tensor; targets: Tensor },
  opts: { checkpointActivations: boolean; dropoutSeed: number },
) {
  const dev = model.params.flat.device;
  const value = Tensor.zeros(dev, []);
  model.params.zeroGrad();
  dev.pool.resetPeak();
  stepScope(() => {
    const { loss } = model.forward(data.ids, { targets: data.targets, train: true, ...opts });
    noGrad(() => ops.accumulate(value, loss!));
    loss!.backward();
  });
  const peak = dev.pool.peakBytes();
  const loss = (await value.toArray()) as Float32Array;
  value.release();
  return { loss, grads: (await model.params.flatGrad.toArray()) as Float32Array, peak };
}

/** Builds `cfg` twice from one seed, checkpointed and not, and compares `steps` AdamW steps. */
async function assertIdentical(dev: Device, cfg: GPTConfig, steps: number): Promise<void> {
  const models = [createModel(dev, cfg, { seed: 3 }), createModel(dev, cfg, { seed: 3 })];
  const optimizers = models.map((m) => new AdamW(m.params, { lr: 1e-2, weightDecay: 0.1 }));
  for (let s = 0; s < steps; s++) {
    const data = batch(dev, cfg, 3, 10 + s);
    // Another seed's masks first (the optimizer steps on the gradients computed last).
    const other = s === 0
      ? await step(models[1], data, { checkpointActivations: false, dropoutSeed: 99 })
      : null;
    const before = checkpointsRecorded();
    const wrapped = await step(models[0], data, { checkpointActivations: true, dropoutSeed: s });
    const blocks = checkpointsRecorded() - before;
    const direct = await step(models[1], data, { checkpointActivations: false, dropoutSeed: s });
    assert.equal(checkpointsRecorded() - before, blocks, "the default checkpoints nothing");
    assert.ok(blocks >= cfg.n_layer, `${cfg.name}: ${blocks} blocks checkpointed`);
    assertSameBits(wrapped.loss, direct.loss, `${cfg.name} step ${s}: loss`);
    assert.ok(direct.grads.some((g) => g !== 0));
    assertSameBits(wrapped.grads, direct.grads, `${cfg.name} step ${s}: flat gradients`);
    if (other) {
      // The comparison sees dropout: another seed's masks change the gradients.
      assert.ok(other.grads.some((g, i) => g !== direct.grads[i]), "dropout is active");
    }
    for (const o of optimizers) o.step({ lr: 1e-2, maxGradNorm: 1 });
    for (const t of [data.ids, data.targets]) t.release();
  }
  const params = await Promise.all(models.map((m) => m.params.flat.toArray()));
  assertSameBits(params[0] as Float32Array, params[1] as Float32Array, `${cfg.name}: parameters`);
  for (const o of optimizers) o.release();
  for (const m of models) m.params.destroy();
}

gpuTest(
  "checkpoint_activations: GPT (dropout, learned positions, tied head), 3 steps",
  (dev) => assertIdentical(dev, gpt, 3),
);

gpuTest(
  "checkpoint_activations: GPT (dropout, RoPE, untied head), 2 steps",
  (dev) => assertIdentical(dev, { ...gpt, positional: "rope", tie_embeddings: false }, 2),
);

gpuTest(
  "checkpoint_activations: encdec (dropout), 2 steps",
  (dev) => assertIdentical(dev, encdec, 2),
);

gpuTest(
  "checkpoint_activations: latent_encdec (dropout, factor 0.5), 2 steps",
  (dev) => assertIdentical(dev, { ...encdec, name: "latent_encdec", bottleneck_factor: 0.5 }, 2),
);

gpuTest("checkpoint_activations: a step's peak GPU bytes are lower", async (dev) => {
  const cfg = gptConfig({ vocab_size: 29, max_seq_len: 32, n_layer: 4, n_head: 2, d_model: 32 });
  const model = createModel(dev, cfg, { seed: 1 });
  const data = batch(dev, cfg, 4, 1);
  const peak = async (checkpointActivations: boolean) =>
    (await step(model, data, { checkpointActivations, dropoutSeed: 0 })).peak;
  const without = await peak(false);
  const withCheckpoints = await peak(true);
  assert.ok(
    withCheckpoints < without,
    `peak with checkpointing ${withCheckpoints} B < without ${without} B`,
  );
  for (const t of [data.ids, data.targets]) t.release();
  model.params.destroy();
});
