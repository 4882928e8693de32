import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import {
  Block,
  CausalSelfAttention,
  type ForwardContext,
  GPT,
  type GPTConfig,
} from "../../src/nn/gpt.ts";
import type { ResolvedConfig } from "../../src/nn/gpt_config.ts";
import type { ParamBuilder } from "../../src/nn/params.ts";
import { ops } from "../../src/tensor/ops.ts";
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

/** Attention with sharper scores (3/√D instead of 1/√D): a changed attention forward. */
class SharpAttention extends CausalSelfAttention {
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    const nHead = this.cfg.n_head;
    const [query, key, value] = this.cAttn.forwardSplit(x, 3);
    const { keys, values } = ctx.keysValues(key, value);
    let [q, k, v] = [query, keys, values].map((y) => ops.splitHeads(y, nHead));
    if (this.cfg.positional === "rope") {
      q = ops.rope(q, { offset: ctx.positionOffset, base: this.cfg.rope_base });
      k = ops.rope(k, { base: this.cfg.rope_base });
    }
    const y = ops.attention(q, k, v, { causal: true, scale: 3 / Math.sqrt(q.shape[3]) });
    return this.cProj.forward(ops.mergeHeads(y));
  }
}

/** A block with scaled residual branches and the sharper attention: a changed block forward. */
class ScaledBlock extends Block {
  protected override createAttention(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
    return new SharpAttention(pb, prefix, cfg);
  }

  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    x = ops.add(x, ops.scale(this.attn.forward(this.ln1.forward(x), ctx), 0.5));
    return ops.add(x, ops.scale(this.mlp.forward(this.ln2.forward(x), ctx), 2));
  }
}

class ScaledGPT extends GPT {
  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    return new ScaledBlock(pb, prefix, cfg);
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

for (const positional of ["learned", "rope"] as const) {
  testNeeding(
    "a WebGPU adapter",
    gpu,
    `KV cache (${positional}): a GPT with a changed block forward decodes with that block`,
    async () => {
      const dev = await Device.open();
      try {
        const cfg = config(positional, true);
        const model = new ScaledGPT(dev, cfg, { seed: 5 });
        const plain = new GPT(dev, cfg, { seed: 5 });
        const values = await model.params.read();
        for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] *= 20;
        model.params.write(values);
        plain.params.write(values);
        const ids = Array.from({ length: 12 }, (_, i) => (i * 5 + 1) % 37);
        const V = 37;
        const want = await fullLogits(model, ids);
        // The change matters: the plain model's logits (what a cache with its own copy of the
        // block maths would give) are far from the changed model's.
        assert.ok(maxDiff(await fullLogits(plain, ids), want) > 0.1, "the change is visible");
        const cache = new KVCache(model);
        const prefill = await cache.forward(ids.slice(0, 4), { allLogits: true }).toArray();
        assertRowsClose(prefill as Float32Array, want.subarray(0, 4 * V), "prefill rows 0..3");
        const bytes = dev.bytesInUse();
        for (let p = 4; p < ids.length; p++) {
          const logits = cache.forward([ids[p]]);
          const row = await logits.toArray();
          logits.release();
          assertRowsClose(row as Float32Array, want.subarray(p * V, (p + 1) * V), `row ${p}`);
          // A step keeps nothing but the cache rows it wrote (no activations left behind).
          assert.equal(dev.bytesInUse(), bytes, `GPU bytes in use after step ${p}`);
        }
        cache.release();
      } finally {
        dev.destroy();
      }
    },
  );
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT.forward: lastLogitsOnly is the last row; cache and lastLogitsOnly need batch 1",
  async () => {
    const dev = await Device.open();
    try {
      const model = new GPT(dev, config("rope", false), { seed: 9 });
      const ids = [4, 8, 15, 16, 23];
      const want = await fullLogits(model, ids);
      const last = noGrad(() => {
        const t = Tensor.fromArray(dev, ids, [1, ids.length], { dtype: "i32" });
        return model.forward(t, { lastLogitsOnly: true }).logits!;
      });
      assert.deepEqual(last.shape, [1, 1, 37]);
      assertRowsClose(await last.toArray() as Float32Array, want.subarray(4 * 37), "last row");
      const two = Tensor.fromArray(dev, [...ids, ...ids], [2, ids.length], { dtype: "i32" });
      const cache = new KVCache(model);
      assert.throws(() => noGrad(() => model.forward(two, { cache })), /need batch 1, got 2/);
      const one = two.view(0, [1, 5]);
      assert.throws(() => model.forward(one, { cache }), /must run under noGrad/);
      assert.throws(() => noGrad(() => model.forward(two, { lastLogitsOnly: true })), /batch 1/);
      assert.throws(
        () =>
          model.forward(two.view(0, [1, 5]), {
            lastLogitsOnly: true,
            targets: two.view(0, [1, 5]),
          }),
        /lastLogitsOnly gives no loss/,
      );
      cache.release();
    } finally {
      dev.destroy();
    }
  },
);
