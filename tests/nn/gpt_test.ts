import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { GPT } from "../../src/nn/gpt.ts";
import { countGptParams, gptFlopsPerToken } from "../../src/nn/gpt_config.ts";
import { createModel, modelNames } from "../../src/nn/registry.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

const gpu = await hasWebGpuAdapter();

const tiny = gptConfig({
  vocab_size: 50,
  max_seq_len: 12,
  n_layer: 3,
  n_head: 2,
  d_model: 32,
});

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0, q = 0;
  for (const x of a) {
    s += x;
    q += x * x;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(q / a.length - mean * mean) };
}

function idsTensor(dev: Device, batch: number, seqLen: number, vocab: number, seed = 3): Tensor {
  const data = Int32Array.from({ length: batch * seqLen }, (_, i) => (i * 7 + seed * 13) % vocab);
  return Tensor.fromArray(dev, data, [batch, seqLen], { dtype: "i32" });
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT: Hugging Face parameter names and shapes; count matches the formula",
  async () => {
    const dev = await Device.open();
    try {
      const model = new GPT(dev, tiny, { seed: 1 });
      const names = [...model.params.tensors.keys()];
      assert.deepEqual(names.slice(0, 2), ["wte.weight", "wpe.weight"]);
      assert.deepEqual(names.slice(2, 14), [
        "h.0.ln_1.weight",
        "h.0.ln_1.bias",
        "h.0.attn.c_attn.weight",
        "h.0.attn.c_attn.bias",
        "h.0.attn.c_proj.weight",
        "h.0.attn.c_proj.bias",
        "h.0.ln_2.weight",
        "h.0.ln_2.bias",
        "h.0.mlp.c_fc.weight",
        "h.0.mlp.c_fc.bias",
        "h.0.mlp.c_proj.weight",
        "h.0.mlp.c_proj.bias",
      ]);
      assert.deepEqual(names.slice(-2), ["ln_f.weight", "ln_f.bias"]);
      assert.deepEqual(model.params.tensors.get("h.2.attn.c_attn.weight")!.shape, [96, 32]);
      assert.deepEqual(model.params.tensors.get("h.2.mlp.c_fc.weight")!.shape, [128, 32]);
      assert.equal(model.numParams(), countGptParams(tiny));
      assert.equal(model.flopsPerToken(12), gptFlopsPerToken(tiny, 12));

      const untied = new GPT(dev, {
        ...tiny,
        tie_embeddings: false,
        positional: "rope",
        bias: false,
      }, { seed: 1 });
      const un = [...untied.params.tensors.keys()];
      assert.ok(un.includes("lm_head.weight") && !un.includes("wpe.weight"));
      assert.ok(!un.some((n) => n.endsWith(".bias")));
      assert.equal(
        untied.numParams(),
        countGptParams({ ...tiny, tie_embeddings: false, positional: "rope", bias: false }),
      );
    } finally {
      dev.destroy();
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT: GPT-2 initialisation, deterministic per seed",
  async () => {
    const dev = await Device.open();
    try {
      const cfg = { ...tiny, d_model: 64, n_layer: 8 };
      const a = await new GPT(dev, cfg, { seed: 5 }).params.read();
      const b = await new GPT(dev, cfg, { seed: 5 }).params.read();
      const c = await new GPT(dev, cfg, { seed: 6 }).params.read();
      for (const [name, values] of a) assert.deepEqual(values, b.get(name), name);
      assert.notDeepEqual(a.get("wte.weight"), c.get("wte.weight"));

      const fc = stats(a.get("h.3.mlp.c_fc.weight")!); // 256·64 samples of N(0, 0.02²)
      assert.ok(Math.abs(fc.std - 0.02) < 0.001 && Math.abs(fc.mean) < 0.001, JSON.stringify(fc));
      const proj = stats(a.get("h.3.mlp.c_proj.weight")!); // residual projection: 0.02/sqrt(2·8) = 0.005
      assert.ok(Math.abs(proj.std - 0.005) < 0.0003, JSON.stringify(proj));
      assert.ok(Math.abs(stats(a.get("h.0.attn.c_proj.weight")!).std - 0.005) < 0.0005);
      assert.ok(a.get("h.0.ln_1.weight")!.every((x) => x === 1));
      assert.ok(a.get("h.0.ln_1.bias")!.every((x) => x === 0));
      assert.ok(a.get("h.0.attn.c_attn.bias")!.every((x) => x === 0));
    } finally {
      dev.destroy();
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT: init pytorch draws Linear biases U(±1/√fan_in), init_std scales every weight unscaled",
  async () => {
    const dev = await Device.open();
    try {
      const cfg = { ...tiny, d_model: 64, n_layer: 8, init: "pytorch" as const, init_std: 0.04 };
      const a = await new GPT(dev, cfg, { seed: 5 }).params.read();
      for (
        const name of [
          "h.3.mlp.c_proj.weight",
          "h.3.attn.c_proj.weight",
          "wte.weight",
          "wpe.weight",
        ]
      ) {
        const s = stats(a.get(name)!);
        assert.ok(Math.abs(s.std - 0.04) < 0.003, `${name} ${JSON.stringify(s)}`);
      }
      // fan_in 64 for c_attn and c_fc, 4·64 for the MLP's c_proj
      for (
        const [name, fanIn] of [["h.0.attn.c_attn.bias", 64], ["h.2.mlp.c_fc.bias", 64], [
          "h.5.mlp.c_proj.bias",
          256,
        ]] as const
      ) {
        const bias = a.get(name)!;
        const bound = 1 / Math.sqrt(fanIn);
        assert.ok(bias.every((x) => Math.abs(x) < bound), name);
        assert.ok(
          Math.abs(stats(bias).std / (bound / Math.sqrt(3)) - 1) < 0.2,
          `${name} ${JSON.stringify(stats(bias))}`,
        );
      }
      assert.ok(a.get("h.0.ln_1.bias")!.every((x) => x === 0), "layernorms keep 1 and 0");
      assert.ok(a.get("ln_f.weight")!.every((x) => x === 1));
    } finally {
      dev.destroy();
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT: forward shapes, loss ≈ ln V at init, residual capture",
  async () => {
    const dev = await Device.open();
    try {
      const model = new GPT(dev, tiny, { seed: 2 });
      const ids = idsTensor(dev, 2, 10, tiny.vocab_size);
      const targets = idsTensor(dev, 2, 10, tiny.vocab_size, 4);
      const out = noGrad(() => model.forward(ids, { capture: true }));
      assert.deepEqual(out.logits!.shape, [2, 10, 50]);
      assert.equal(out.residuals!.length, tiny.n_layer + 1);
      for (const r of out.residuals!) assert.deepEqual(r.shape, [2, 10, 32]);
      // Embedding output = wte[ids] + wpe[pos]: check one row against the parameters.
      const params = await model.params.read();
      const r0 = await out.residuals![0].toArray();
      const id = (0 * 7 + 3 * 13) % 50; // ids[0,0]
      for (let c = 0; c < 32; c++) {
        const want = params.get("wte.weight")![id * 32 + c] + params.get("wpe.weight")![c];
        assert.ok(Math.abs(r0[c] - want) < 1e-6);
      }
      // The loss equals the float64 cross-entropy of the returned logits.
      const logits = await out.logits!.toArray();
      const tgt = await targets.toArray();
      let expected = 0;
      for (let row = 0; row < 20; row++) {
        const z = Array.from(logits.subarray(row * 50, row * 50 + 50));
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0));
        expected += (lse - z[tgt[row]]) / 20;
      }
      const loss = await noGrad(() => model.forward(ids, { targets }).loss!).item();
      assert.ok(Math.abs(loss - expected) < 1e-5, `loss ${loss} vs ${expected}`);
      // Small init weights give nearly uniform predictions: loss near ln 50.
      assert.ok(Math.abs(loss - Math.log(50)) < 0.25, `loss ${loss}`);
      assert.throws(() => model.forward(idsTensor(dev, 1, 13, 50)), UserError);
      assert.throws(
        () => model.forward(ids, { targets: idsTensor(dev, 2, 9, 50) }),
        /targets must be i32 \[2,10\]/,
      );
      assert.throws(
        () => model.forward(Tensor.zeros(dev, [2, 10])),
        /ids must be i32 \[B,T\], got f32/,
      );
    } finally {
      dev.destroy();
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT: dropout is seeded, active only in training",
  async () => {
    const dev = await Device.open();
    try {
      const model = new GPT(dev, { ...tiny, dropout: 0.3 }, { seed: 2 });
      const ids = idsTensor(dev, 2, 10, tiny.vocab_size);
      const targets = idsTensor(dev, 2, 10, tiny.vocab_size, 4);
      const lossOf = (opts: { train?: boolean; dropoutSeed?: number }) =>
        noGrad(() => model.forward(ids, { targets, ...opts }).loss!).item();
      const evalLoss = await lossOf({});
      assert.equal(await lossOf({ train: false, dropoutSeed: 9 }), evalLoss);
      const a = await lossOf({ train: true, dropoutSeed: 1 });
      assert.equal(await lossOf({ train: true, dropoutSeed: 1 }), a);
      assert.notEqual(a, evalLoss);
      assert.notEqual(await lossOf({ train: true, dropoutSeed: 2 }), a);
    } finally {
      dev.destroy();
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "model registry builds gpt and lists names on a failed lookup",
  async () => {
    assert.deepEqual(modelNames(), ["gpt"]);
    assert.throws(
      () => createModel(null as unknown as Device, { name: "mamba" }, { seed: 1 }),
      /model.name: unknown model "mamba"; known: gpt/,
    );
    const dev = await Device.open();
    try {
      const model = createModel(dev, tiny, { seed: 1 });
      assert.equal(model.numParams(), countGptParams(tiny));
    } finally {
      dev.destroy();
    }
  },
);
