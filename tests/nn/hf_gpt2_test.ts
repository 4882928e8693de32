import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../src/gpu/device.ts";
import { gpt2ConfigFromHf, gpt2ParamsFromHf, loadHfGpt2 } from "../../src/nn/hf_gpt2.ts";
import {
  readSafetensors,
  type SafetensorsTensor,
  writeSafetensors,
} from "../../src/nn/safetensors.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasPyTorch, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { runPython } from "../_support/python.ts";

Deno.test("gpt2ConfigFromHf maps GPT-2 small's config.json", () => {
  const cfg = gpt2ConfigFromHf({
    activation_function: "gelu_new",
    n_ctx: 1024,
    n_embd: 768,
    n_head: 12,
    n_layer: 12,
    n_positions: 1024,
    vocab_size: 50257,
    layer_norm_epsilon: 1e-5,
  });
  assert.deepEqual(
    [cfg.vocab_size, cfg.max_seq_len, cfg.n_layer, cfg.n_head, cfg.d_model, cfg.tie_embeddings],
    [50257, 1024, 12, 12, 768, true],
  );
  assert.throws(() => gpt2ConfigFromHf({ n_embd: 8 }), UserError);
  assert.throws(() => gpt2ConfigFromHf({ activation_function: "relu" }), /tanh GELU only/);
});

Deno.test("gpt2ParamsFromHf transposes Conv1D weights, drops mask buffers, reports gaps", () => {
  const f32 = (shape: number[], data: number[]): SafetensorsTensor => ({
    dtype: "F32",
    shape,
    data: new Float32Array(data),
  });
  const expected = new Map<string, readonly number[]>([
    ["h.0.mlp.c_fc.weight", [3, 2]],
    ["h.0.mlp.c_fc.bias", [3]],
  ]);
  const tensors = new Map([
    ["transformer.h.0.mlp.c_fc.weight", f32([2, 3], [1, 2, 3, 4, 5, 6])], // [in=2, out=3]
    ["transformer.h.0.mlp.c_fc.bias", f32([3], [7, 8, 9])],
    ["transformer.h.0.attn.bias", f32([1], [1])],
    ["lm_head.weight", f32([1], [0])],
  ]);
  const out = gpt2ParamsFromHf(tensors, expected);
  assert.deepEqual(out.get("h.0.mlp.c_fc.weight"), new Float32Array([1, 4, 2, 5, 3, 6]));
  assert.deepEqual(out.get("h.0.mlp.c_fc.bias"), new Float32Array([7, 8, 9]));
  // Half-precision checkpoints: bfloat16 bits 0x3fc0 = 1.5, 0xc000 = -2; float16 0x3e00 = 1.5.
  const half = (dtype: "BF16" | "F16", bits: number[]): SafetensorsTensor => ({
    dtype,
    shape: [3],
    data: new Uint16Array(bits),
  });
  tensors.set("transformer.h.0.mlp.c_fc.bias", half("BF16", [0x3fc0, 0xc000, 0]));
  assert.deepEqual(
    gpt2ParamsFromHf(tensors, expected).get("h.0.mlp.c_fc.bias"),
    new Float32Array([1.5, -2, 0]),
  );
  tensors.set("transformer.h.0.mlp.c_fc.bias", half("F16", [0x3e00, 0xc000, 0]));
  assert.deepEqual(
    gpt2ParamsFromHf(tensors, expected).get("h.0.mlp.c_fc.bias"),
    new Float32Array([1.5, -2, 0]),
  );
  tensors.delete("transformer.h.0.mlp.c_fc.bias");
  assert.throws(() => gpt2ParamsFromHf(tensors, expected), /missing tensors h.0.mlp.c_fc.bias/);
  tensors.set("transformer.h.0.mlp.c_fc.bias", f32([4], [1, 2, 3, 4]));
  assert.throws(() => gpt2ParamsFromHf(tensors, expected), /has shape \[4\], expected \[3\]/);
});

const available = (await hasPyTorch()) && (await hasWebGpuAdapter());

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "loadHfGpt2: logits of an HF-layout checkpoint match PyTorch",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "kiln-hf-" });
    const dev = await Device.open();
    try {
      const model = {
        name: "gpt",
        vocab_size: 57,
        max_seq_len: 16,
        n_layer: 2,
        n_head: 4,
        d_model: 32,
      };
      const [batch, seqLen] = [2, 11];
      const ids = Int32Array.from({ length: batch * seqLen }, (_, i) => (i * 31 + 5) % 57);
      await Deno.writeTextFile(
        join(dir, "config.json"),
        JSON.stringify({
          model: { ...model, bias: true, tie_embeddings: true, positional: "learned" },
        }),
      );
      await writeSafetensors(
        join(dir, "batch.safetensors"),
        new Map([["ids", { dtype: "I32", shape: [batch, seqLen], data: ids }]]),
      );
      const script = new URL("../reference/hf_gpt2_reference.py", import.meta.url).pathname;
      await runPython([script, dir]);

      const gpt = await loadHfGpt2(dev, join(dir, "hf"));
      assert.equal(gpt.config.d_model, 32);
      const logits = noGrad(() =>
        gpt.forward(Tensor.fromArray(dev, ids, [batch, seqLen], { dtype: "i32" })).logits!
      );
      const got = await logits.toArray();
      const want = (await readSafetensors(join(dir, "logits.safetensors"))).tensors.get("logits")!
        .data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      assert.ok(maxDiff <= 1e-3, `logits differ by ${maxDiff}`);
      await assert.rejects(loadHfGpt2(dev, join(dir, "nope")), /file not found/);
    } finally {
      dev.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
