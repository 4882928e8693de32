import assert from "node:assert/strict";
import {
  argmax,
  filteredProbabilities,
  sampleToken,
  SamplingRng,
  validateSampling,
} from "../../src/eval/sampling.ts";

const logits = [2.0, 1.0, 0.5, -1.0, 3.0];

function softmax(xs: number[], t = 1): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp((x - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

Deno.test("temperature 0 is greedy", () => {
  const rng = new SamplingRng(1);
  for (let i = 0; i < 10; i++) assert.equal(sampleToken(logits, { temperature: 0 }, rng), 4);
  assert.equal(argmax([1, 3, 3]), 1);
});

Deno.test("top-k keeps the k most likely tokens, renormalised", () => {
  const p = filteredProbabilities(logits, { temperature: 1, topK: 2 });
  const full = softmax(logits);
  const z = full[4] + full[0];
  assert.ok(Math.abs(p[4] - full[4] / z) < 1e-12);
  assert.ok(Math.abs(p[0] - full[0] / z) < 1e-12);
  assert.equal(p[1] + p[2] + p[3], 0);
});

Deno.test("top-p keeps the smallest prefix reaching p", () => {
  const full = softmax(logits);
  // full ≈ [0.23, 0.085, 0.05, 0.011, 0.63]: 0.63 < 0.8, 0.63 + 0.23 ≥ 0.8 → two tokens.
  const p = filteredProbabilities(logits, { temperature: 1, topP: 0.8 });
  assert.ok(p[4] > 0 && p[0] > 0);
  assert.equal(p[1] + p[2] + p[3], 0);
  assert.ok(Math.abs(p[4] - full[4] / (full[4] + full[0])) < 1e-12);
});

Deno.test("sampling frequencies follow the tempered distribution and are seed-reproducible", () => {
  const opts = { temperature: 0.7 };
  const want = softmax(logits, 0.7);
  const rng = new SamplingRng(42);
  const counts = new Array(logits.length).fill(0);
  const n = 20000;
  const seq: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = sampleToken(logits, opts, rng);
    counts[id]++;
    if (i < 50) seq.push(id);
  }
  for (let i = 0; i < logits.length; i++) {
    const sd = Math.sqrt(want[i] * (1 - want[i]) / n);
    assert.ok(Math.abs(counts[i] / n - want[i]) < 5 * sd + 1e-9, `token ${i}`);
  }
  const again = new SamplingRng(42);
  assert.deepEqual(seq, Array.from({ length: 50 }, () => sampleToken(logits, opts, again)));
});

Deno.test("bad sampling options are one-line user errors", () => {
  assert.throws(
    () => validateSampling({ temperature: 1, topK: 5, topP: 0.9 }),
    /mutually exclusive/,
  );
  assert.throws(() => validateSampling({ temperature: -1 }), /temperature/);
  assert.throws(() => validateSampling({ temperature: 1, topP: 1.5 }), /top-p/);
  assert.throws(() => validateSampling({ temperature: 1, topK: 0 }), /top-k/);
});
