import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../../src/nn/gpt.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { idCodec } from "../../src/eval/codec.ts";
import { chatModel, generate } from "../../src/eval/generate.ts";
import { perplexities, sequenceLosses } from "../../src/eval/perplexities.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const gpu = await hasWebGpuAdapter();

const CFG: GPTConfig = {
  name: "gpt",
  vocab_size: 29,
  max_seq_len: 16,
  n_layer: 2,
  n_head: 2,
  d_model: 16,
  dropout: 0,
  bias: true,
  tie_embeddings: false,
  positional: "rope",
};

async function withModel(fn: (model: GPT) => Promise<void>): Promise<void> {
  const dev = await Device.open();
  try {
    const model = new GPT(dev, CFG, { seed: 21 });
    // Sharper than the 0.02-std init, so token choices depend on the whole context.
    const p = await model.params.read();
    for (const v of p.values()) for (let i = 0; i < v.length; i++) v[i] *= 15;
    model.params.write(p);
    await fn(model);
  } finally {
    dev.destroy();
  }
}

/** Mean next-token loss of `ids` by the fused GPU classifier on a full forward. */
async function fusedMeanLoss(model: GPT, ids: number[]): Promise<number> {
  const loss = noGrad(() => {
    const T = ids.length - 1;
    const input = Tensor.fromArray(model.device, ids.slice(0, T), [1, T], { dtype: "i32" });
    const targets = Tensor.fromArray(model.device, ids.slice(1), [1, T], { dtype: "i32" });
    return model.forward(input, { targets }).loss!;
  });
  return await loss.item();
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "generation: KV cache gives the same tokens as full recomputation",
  async () => {
    await withModel(async (model) => {
      const prompt = [4, 8, 15, 16, 23, 1];
      for (const sampling of [{ temperature: 0 }, { temperature: 1, topK: 5, seed: 7 }]) {
        const opts = { ...sampling, maxNewTokens: 10 };
        const cached = await generate(model, prompt, opts);
        const full = await generate(model, prompt, { ...opts, useCache: false });
        assert.equal(cached.ids.length, 10);
        assert.deepEqual(cached.ids, full.ids, JSON.stringify(sampling));
      }
      // Same seed → same tokens; the window slides past the context without error.
      const long = { temperature: 0.9, seed: 3, maxNewTokens: 40 };
      const a = await generate(model, prompt, long);
      assert.deepEqual((await generate(model, prompt, long)).ids, a.ids);
      assert.equal(a.ids.length, 40);
      assert.ok(new Set(a.ids).size > 1, "sampling varies");
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "generation: prompt truncation, stop token, bad prompts",
  async () => {
    await withModel(async (model) => {
      const long = Array.from({ length: 21 }, (_, i) => i % 29);
      const r = await generate(model, long, { temperature: 0, maxNewTokens: 3 });
      assert.equal(r.droppedPromptTokens, 5);
      const same = await generate(model, long.slice(5), { temperature: 0, maxNewTokens: 3 });
      assert.deepEqual(r.ids, same.ids);
      const free = await generate(model, [2, 3], { temperature: 0, maxNewTokens: 8 });
      const stopAt = free.ids.findIndex((id, i) => i > 0 && free.ids.indexOf(id) === i);
      const stopped = await generate(model, [2, 3], {
        temperature: 0,
        maxNewTokens: 8,
        stopId: free.ids[stopAt],
      });
      assert.equal(stopped.stopped, true);
      assert.deepEqual(stopped.ids, free.ids.slice(0, stopAt));
      await assert.rejects(
        () => generate(model, [], { temperature: 0, maxNewTokens: 1 }),
        UserError,
      );
      await assert.rejects(
        () => generate(model, [1, 29], { temperature: 0, maxNewTokens: 1 }),
        /token id 29 is outside the model's vocabulary/,
      );
      await assert.rejects(
        () => generate(model, [1], { temperature: 1, topK: 3, topP: 0.5, maxNewTokens: 1 }),
        /mutually exclusive/,
      );
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "perplexities: per-token losses match the fused classifier",
  async () => {
    await withModel(async (model) => {
      const ids = [5, 1, 7, 7, 2, 28, 0, 3, 9, 14];
      const losses = await sequenceLosses(model, ids);
      assert.equal(losses.length, ids.length - 1);
      const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
      const fused = await fusedMeanLoss(model, ids);
      assert.ok(Math.abs(mean - fused) < 1e-4, `mean ${mean} vs fused ${fused}`);
      // Longer than the context: every token after the first is scored; the first window's
      // losses are those of a plain forward over it.
      const longIds = Array.from({ length: 40 }, (_, i) => (i * 11 + 2) % 29);
      const longLosses = await sequenceLosses(model, longIds);
      assert.equal(longLosses.length, 39);
      const first = await sequenceLosses(model, longIds.slice(0, 16));
      assert.deepEqual(longLosses.slice(0, 15), first);
      // Windows start every half context (0, 8, 16, 24): the last 8 targets are scored by the
      // window starting at 24, at its positions 7..14.
      const lastWindow = await sequenceLosses(model, longIds.slice(24, 40));
      assert.deepEqual(longLosses.slice(31), lastWindow.slice(7));
      assert.notDeepEqual(longLosses.slice(31), lastWindow.slice(0, 8));

      const codec = idCodec(29);
      const report = await perplexities(model, codec, "5 1 7 7 2 28 0 3 9 14\n\n4 4\n", {
        perPosition: true,
      });
      assert.deepEqual(report.lines.map((l) => [l.line, l.count]), [[1, 9], [3, 1]]);
      assert.ok(Math.abs(report.lines[0].mean - mean) < 1e-9);
      assert.equal(report.lines[0].max, Math.max(...losses));
      assert.equal(report.lines[0].min, Math.min(...losses));
      assert.deepEqual(report.lines[0].tokens!.map((t) => t.token), [
        "1",
        "7",
        "7",
        "2",
        "28",
        "0",
        "3",
        "9",
        "14",
      ]);
      assert.equal(report.tokens, 10);
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "chat model: turns continue the conversation; reset forgets it",
  async () => {
    await withModel(async (model) => {
      const chat = chatModel(model, idCodec(29), { maxNewTokens: 4 });
      const greedy = { temperature: 0 };
      const first = await chat.complete("1 2 3", greedy);
      const second = await chat.complete("1 2 3", greedy);
      const direct = await generate(model, [1, 2, 3, ...first.split(" ").map(Number), 1, 2, 3], {
        temperature: 0,
        maxNewTokens: 4,
      });
      assert.equal(second, direct.ids.join(" "));
      chat.reset();
      assert.equal(await chat.complete("1 2 3", greedy), first);
    });
  },
);
