import assert from "node:assert/strict";
import { beamSearch, logSoftmax } from "../../src/eval/beam.ts";
import { generate } from "../../src/eval/generate.ts";
import { Device } from "../../src/gpu/device.ts";
import { GPT } from "../../src/nn/gpt.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

const gpu = await hasWebGpuAdapter();

/** A random GPT sharpened so that the likeliest continuation depends on the context. */
async function sharpModel(dev: Device, vocab: number, seed: number, gain: number): Promise<GPT> {
  const cfg = gptConfig({ vocab_size: vocab, max_seq_len: 12, n_layer: 2, n_head: 2, d_model: 16 });
  const model = new GPT(dev, cfg, { seed });
  const p = await model.params.read();
  for (const v of p.values()) for (let i = 0; i < v.length; i++) v[i] *= gain;
  model.params.write(p);
  return model;
}

/** Σ log p(continuation | prompt) from one full forward over the whole sequence (float64). */
async function scoreContinuation(model: GPT, prompt: number[], cont: number[]): Promise<number> {
  const seq = [...prompt, ...cont];
  const logits = noGrad(() =>
    model.forward(Tensor.fromArray(model.device, seq, [1, seq.length], { dtype: "i32" })).logits!
  );
  const values = await logits.toArray() as Float32Array;
  logits.release();
  const V = model.config.vocab_size;
  let total = 0;
  for (let i = 0; i < cont.length; i++) {
    const at = prompt.length - 1 + i;
    total += logSoftmax(values.subarray(at * V, (at + 1) * V))[cont[i]];
  }
  return total;
}

Deno.test("logSoftmax: exp sums to 1 and shifts cancel", () => {
  const lp = logSoftmax([1, 2, 3, 1000]);
  assert.ok(Math.abs(lp.reduce((s, v) => s + Math.exp(v), 0) - 1) < 1e-12);
  assert.ok(Math.abs(logSoftmax([0, 1])[1] - logSoftmax([5, 6])[1]) < 1e-12);
});

testNeeding(
  "a WebGPU adapter",
  gpu,
  "beam search: 1 beam is greedy; V^(n-1) beams find the brute-force best; 2 beams ≥ greedy",
  async () => {
    const dev = await Device.open();
    try {
      const wide = await sharpModel(dev, 29, 21, 15);
      const prompt = [4, 8, 15, 16];
      const greedy = await generate(wide, prompt, { temperature: 0, maxNewTokens: 7 });
      const one = await beamSearch(wide, prompt, { beams: 1, maxNewTokens: 7 });
      assert.deepEqual(one.ids, greedy.ids, "beam 1 = greedy");
      const greedyLp = await scoreContinuation(wide, prompt, greedy.ids);
      assert.ok(Math.abs(one.logProb - greedyLp) < 1e-4, `${one.logProb} vs ${greedyLp}`);

      // A tiny vocabulary: every continuation of n tokens can be scored.
      const V = 4, n = 3;
      const tiny = await sharpModel(dev, V, 4, 3);
      const start = [1, 3, 0];
      const all: { ids: number[]; lp: number }[] = [];
      for (let code = 0; code < V ** n; code++) {
        const ids = Array.from({ length: n }, (_, i) => Math.floor(code / V ** i) % V);
        all.push({ ids, lp: await scoreContinuation(tiny, start, ids) });
      }
      all.sort((a, b) => b.lp - a.lp);
      const exact = await beamSearch(tiny, start, { beams: V ** (n - 1), maxNewTokens: n });
      assert.deepEqual(exact.ids, all[0].ids);
      assert.ok(Math.abs(exact.logProb - all[0].lp) < 1e-4, `${exact.logProb} vs ${all[0].lp}`);
      const tinyGreedy = await generate(tiny, start, { temperature: 0, maxNewTokens: n });
      const tinyGreedyLp = await scoreContinuation(tiny, start, tinyGreedy.ids);
      const two = await generate(tiny, start, { temperature: 0, maxNewTokens: n, beams: 2 });
      // On this model greedy is not optimal, and two beams already do better.
      assert.ok(
        two.logProb! > tinyGreedyLp + 1e-3 && two.logProb! <= all[0].lp + 1e-6,
        `beam 2 ${two.logProb}, greedy ${tinyGreedyLp}, best ${all[0].lp}`,
      );
      assert.ok(
        all[0].lp > tinyGreedyLp + 1e-3,
        "the test model's best is not greedy's: a real search",
      );

      // A stop id that starts the best continuation: nothing longer can beat stopping there.
      const stopId = all[0].ids[0];
      const stopped = await beamSearch(tiny, start, { beams: 4, maxNewTokens: n, stopId });
      assert.ok(stopped.stopped && stopped.ids.length === 0, JSON.stringify(stopped));
      await assert.rejects(beamSearch(tiny, start, { beams: 0, maxNewTokens: 1 }), /--beams/);
    } finally {
      dev.destroy();
    }
  },
);
