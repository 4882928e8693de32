import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../src/gpu/device.ts";
import { Block, CausalSelfAttention, type ForwardContext, GPT } from "../../src/nn/gpt.ts";
import type { ResolvedConfig } from "../../src/nn/gpt_config.ts";
import type { ParamBuilder } from "../../src/nn/params.ts";
import { ops } from "../../src/tensor/ops.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { readSafetensors } from "../../src/nn/safetensors.ts";
import {
  attentionPatterns,
  residualStream,
  selectIndices,
  textSlug,
  writeActivations,
  writeAttentionMaps,
} from "../../src/eval/inspect.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

const gpu = await hasWebGpuAdapter();

const CFG = gptConfig({
  vocab_size: 23,
  max_seq_len: 10,
  n_layer: 2,
  n_head: 2,
  d_model: 8,
});

/** A random GPT whose weights are scaled up so attention is far from uniform. */
async function sharpModel(dev: Device): Promise<{ model: GPT; p: Map<string, Float32Array> }> {
  const model = new GPT(dev, CFG, { seed: 11 });
  const p = await model.params.read();
  for (const [name, v] of p) {
    if (!name.includes("ln_")) { for (let i = 0; i < v.length; i++) v[i] *= 25; }
  }
  model.params.write(p);
  return { model, p };
}

/** Layer-0 input and attention probabilities in float64 on the CPU (the oracle). */
function layer0Oracle(p: Map<string, Float32Array>, ids: number[]) {
  const C = CFG.d_model, H = CFG.n_head, D = C / H, T = ids.length;
  const wte = p.get("wte.weight")!, wpe = p.get("wpe.weight")!;
  const x = ids.map((id, t) =>
    Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c])
  );
  const g = p.get("h.0.ln_1.weight")!, b = p.get("h.0.ln_1.bias")!;
  const h = x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / C;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / C;
    return row.map((v, c) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[c] + b[c]);
  });
  const w = p.get("h.0.attn.c_attn.weight")!, wb = p.get("h.0.attn.c_attn.bias")!;
  const project = (row: number[], out: number) =>
    row.reduce((s, v, c) => s + v * w[out * C + c], wb[out]);
  const probs: number[][][] = [];
  for (let head = 0; head < H; head++) {
    const q = h.map((row) => Array.from({ length: D }, (_, d) => project(row, head * D + d)));
    const k = h.map((row) => Array.from({ length: D }, (_, d) => project(row, C + head * D + d)));
    probs.push(q.map((qi, i) => {
      const s = k.map((kj, j) =>
        j <= i ? qi.reduce((acc, v, d) => acc + v * kj[d], 0) / Math.sqrt(D) : -Infinity
      );
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, v) => a + v, 0);
      return e.map((v) => v / sum);
    }));
  }
  return { x, probs, T };
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "attention maps equal a float64 oracle; files for the visualizer",
  async () => {
    const dev = await Device.open();
    const dir = await Deno.makeTempDir();
    try {
      const { model, p } = await sharpModel(dev);
      const ids = [3, 17, 4, 4, 22, 0, 9];
      await attentionPatterns(model, ids, { layers: [1] }); // builds the lazy caches
      const bytes = dev.bytesInUse();
      const patterns = await attentionPatterns(model, ids, { layers: [0, 1] });
      assert.equal(dev.bytesInUse(), bytes, "attention maps leave no tensors behind");
      assert.deepEqual(patterns.map((x) => `${x.layer}/${x.head}`), ["0/0", "0/1", "1/0", "1/1"]);
      const oracle = layer0Oracle(p, ids);
      let worst = 0;
      let sharpest = 0;
      for (const pat of patterns.filter((x) => x.layer === 0)) {
        pat.weights.forEach((row, i) =>
          row.forEach((v, j) => {
            worst = Math.max(worst, Math.abs(v - oracle.probs[pat.head][i][j]));
            sharpest = Math.max(sharpest, i > 0 ? v : 0);
          })
        );
      }
      assert.ok(worst < 1e-4, `layer 0 attention differs from the oracle by ${worst}`);
      assert.ok(sharpest > 0.9, "the test model's attention is not trivially uniform");
      for (const pat of patterns) {
        pat.weights.forEach((row, i) => {
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, "rows sum to 1");
          for (let j = i + 1; j < row.length; j++) assert.equal(row[j], 0, "causal");
        });
      }
      const files = await writeAttentionMaps(
        dir,
        "some text",
        ids.map(String),
        patterns.slice(0, 1),
      );
      const slug = textSlug("some text");
      assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), [
        `${slug}_L0_H0.svg`,
        `${slug}_L0_H0.png`,
        `${slug}.json`,
      ]);
      const json = JSON.parse(await Deno.readTextFile(join(dir, `${slug}.json`)));
      assert.deepEqual(json.patterns[0].weights, patterns[0].weights);
      assert.throws(() => selectIndices([2], 2, "layers"), /--layers: 2 is not in 0..1/);
    } finally {
      dev.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "activations: resid.0 = wte + wpe, one tensor per layer, saved as safetensors",
  async () => {
    const dev = await Device.open();
    const dir = await Deno.makeTempDir();
    try {
      const { model, p } = await sharpModel(dev);
      const ids = [1, 2, 3, 5, 8];
      await residualStream(model, ids); // builds the lazy caches
      const bytes = dev.bytesInUse();
      const resid = await residualStream(model, ids);
      assert.equal(dev.bytesInUse(), bytes, "the residual stream leaves no tensors behind");
      assert.deepEqual([...resid.keys()], ["resid.0", "resid.1", "resid.2"]);
      const { x } = layer0Oracle(p, ids);
      const got = resid.get("resid.0")!;
      x.flat().forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-4, `resid.0[${i}]`));
      // A batch: each sequence's rows equal its own single-sequence stream; padding rows are 0.
      const short = [7, 3];
      const both = await residualStream(model, [ids, short]);
      const alone = await residualStream(model, short);
      const C = CFG.d_model;
      for (const [name, data] of both) {
        assert.equal(data.length, 2 * 5 * C);
        data.subarray(0, 5 * C).forEach((v, i) =>
          assert.ok(Math.abs(v - resid.get(name)![i]) < 1e-5)
        );
        data.subarray(5 * C, 7 * C).forEach((v, i) =>
          assert.ok(Math.abs(v - alone.get(name)![i]) < 1e-5, `${name} batch row`)
        );
        assert.ok(data.subarray(7 * C).every((v) => v === 0), "padding rows are 0");
      }
      const path = await writeActivations(dir, "abc", ids, ids.map(String), resid, CFG.d_model);
      const back = await readSafetensors(path);
      assert.deepEqual(back.tensors.get("resid.2")!.shape, [5, 8]);
      assert.deepEqual(back.tensors.get("resid.2")!.data, resid.get("resid.2"));
      assert.deepEqual([...back.tensors.get("ids")!.data], ids);
      assert.equal(back.metadata.text, "abc");
    } finally {
      dev.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/**
 * An attention variant built from unfused ops that does not report its probabilities (no
 * ctx.observeAttention; `ops.attention` would report itself).
 */
class SilentAttention extends CausalSelfAttention {
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    const [query, key, value] = this.cAttn.forwardSplit(x, 3);
    const { keys, values } = ctx.keysValues(key, value);
    const [q, k, v] = [query, keys, values].map((y) => ops.splitHeads(y, this.cfg.n_head));
    const scores = ops.scale(ops.matmul(q, k, { transB: true }), 0.5);
    const probs = ops.softmax(ops.causalMask(scores));
    return this.cProj.forward(ops.mergeHeads(ops.matmul(probs, v)));
  }
}

class SilentBlock extends Block {
  protected override createAttention(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
    return new SilentAttention(pb, prefix, cfg);
  }
}

class SilentGPT extends GPT {
  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    return new SilentBlock(pb, prefix, cfg);
  }
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "attention maps of a block that does not report them: a one-line UserError",
  async () => {
    const dev = await Device.open();
    try {
      const model = new SilentGPT(dev, CFG, { seed: 2 });
      await assert.rejects(
        attentionPatterns(model, [1, 2, 3]),
        (e: Error) => e instanceof UserError && /layer 0 reported no attention/.test(e.message),
      );
    } finally {
      dev.destroy();
    }
  },
);
