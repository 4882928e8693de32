import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../../src/nn/gpt.ts";
import { KVCache } from "../../src/nn/kv_cache.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const gpu = await hasWebGpuAdapter();

function config(positional: "learned" | "rope", tie: boolean): GPTConfig {
  return {
    name: "gpt",
    vocab_size: 37,
    max_seq_len: 16,
    n_layer: 2,
    n_head: 2,
    d_model: 16,
    dropout: 0,
    bias: true,
    tie_embeddings: tie,
    positional,
  };
}

/** Uncached logits of every position, [T, V]. */
async function fullLogits(model: GPT, ids: number[]): Promise<Float32Array> {
  const logits = noGrad(() => {
    const t = Tensor.fromArray(model.device, ids, [1, ids.length], { dtype: "i32" });
    return model.forward(t).logits!;
  });
  return await logits.toArray() as Float32Array;
}

function assertRowsClose(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst < 2e-5, `${what}: max |cached − uncached| = ${worst}`);
}

for (const positional of ["learned", "rope"] as const) {
  testNeeding(
    "a WebGPU adapter",
    gpu,
    `KV cache (${positional}): cached logits equal the full forward's at every position`,
    async () => {
      const dev = await Device.open();
      try {
        const model = new GPT(dev, config(positional, positional === "learned"), { seed: 3 });
        // Random weights of std 0.02 give near-uniform logits; scale them up so that a wrong
        // position or a missing key shows as a large difference.
        const values = await model.params.read();
        for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] *= 20;
        model.params.write(values);
        const ids = Array.from({ length: 16 }, (_, i) => (i * 7 + 3) % 37);
        const V = 37;
        const want = await fullLogits(model, ids);
        const cache = new KVCache(model);
        // Prefill 5 (all logits), then chunks of 3, then single tokens to the full context.
        const prefill = await cache.forward(ids.slice(0, 5), { allLogits: true }).toArray();
        assertRowsClose(prefill as Float32Array, want.subarray(0, 5 * V), "prefill rows 0..4");
        const chunk = await cache.forward(ids.slice(5, 8), { allLogits: true }).toArray();
        assertRowsClose(chunk as Float32Array, want.subarray(5 * V, 8 * V), "chunk rows 5..7");
        for (let p = 8; p < ids.length; p++) {
          const row = await cache.forward([ids[p]]).toArray();
          assertRowsClose(row as Float32Array, want.subarray(p * V, (p + 1) * V), `row ${p}`);
        }
        assert.equal(cache.length, 16);
        assert.throws(() => cache.forward([1]), /exceed capacity 16/);
        cache.reset();
        const again = await cache.forward(ids.slice(0, 3)).toArray();
        assertRowsClose(again as Float32Array, want.subarray(2 * V, 3 * V), "after reset");
        cache.release();
      } finally {
        dev.destroy();
      }
    },
  );
}
