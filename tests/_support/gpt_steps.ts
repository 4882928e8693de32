/**
 * A fixed 20-step GPT training run, host-agnostic: the same function runs under Deno and in a
 * browser page, so their losses can be compared (tests/browser/gpt_parity_test.ts).
 */

import type { Device } from "../../src/gpu/device.ts";
import { GPT } from "../../src/nn/gpt.ts";
import { AdamW } from "../../src/optim/adamw.ts";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { Mulberry32 } from "../../src/util/random.ts";
import { gptConfig } from "./gpt.ts";

/** The GPTs compared: awkward widths (not multiples of 64), biases, learned and RoPE positions. */
export const PARITY_MODELS = [
  { d_model: 40, positional: "learned" },
  { d_model: 48, positional: "rope" },
  { d_model: 48, positional: "learned" },
  { d_model: 40, positional: "rope" },
] as const;

/** Trains `PARITY_MODELS[index]` for `steps` AdamW steps on seeded batches; returns the losses. */
export async function parityLosses(dev: Device, index: number, steps = 20): Promise<number[]> {
  const { d_model, positional } = PARITY_MODELS[index];
  const [V, T, B] = [37, 12, 4];
  const cfg = gptConfig({
    vocab_size: V,
    max_seq_len: T,
    n_layer: 2,
    n_head: 4,
    d_model,
    positional,
    tie_embeddings: positional === "learned",
  });
  const model = new GPT(dev, cfg, { seed: 11 + index });
  const opt = new AdamW(model.params, { lr: 3e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const rng = new Mulberry32(5 + index);
  const losses: number[] = [];
  const inputs = Tensor.zeros(dev, [B, T], { dtype: "i32" });
  const targets = Tensor.zeros(dev, [B, T], { dtype: "i32" });
  for (let step = 0; step < steps; step++) {
    // Sequences with structure (a noisy counter), so the loss falls and the steps matter.
    const ids = new Int32Array(B * (T + 1));
    for (let b = 0; b < B; b++) {
      let x = Math.floor(rng.next() * V);
      for (let t = 0; t <= T; t++) {
        ids[b * (T + 1) + t] = x;
        x = rng.next() < 0.8 ? (x + 1) % V : Math.floor(rng.next() * V);
      }
    }
    const inp = new Int32Array(B * T);
    const tgt = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      inp.set(ids.subarray(b * (T + 1), b * (T + 1) + T), b * T);
      tgt.set(ids.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
    }
    inputs.write(inp);
    targets.write(tgt);
    const value = Tensor.zeros(dev, []);
    model.params.zeroGrad();
    const { loss } = model.forward(inputs, { targets, train: true });
    noGrad(() => ops.accumulate(value, loss!));
    loss!.backward();
    loss!.release();
    opt.step({ lr: 3e-3, maxGradNorm: 1 });
    losses.push((await value.toArray())[0]);
    value.release();
  }
  for (const t of [inputs, targets]) t.release();
  opt.release();
  model.params.destroy();
  return losses;
}
