import assert from "node:assert/strict";
import { processes } from "../../../src/data/synthetic/processes.ts";
import {
  entropyRate,
  myopicEntropies,
  optimalLoss,
  reachableBeliefs,
} from "../../../src/data/synthetic/theory.ts";
import type { Process } from "../../../src/data/synthetic/process.ts";

const mess3 = processes.mess3({ x: 0.05, a: 0.85 });

/** Binary entropy in nats. */
function h2(p: number): number {
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
}

/** h(L) by brute force over all V^L words, with no belief merging: an independent check. */
function bruteForceMyopic(p: Process, length: number): number {
  let total = 0;
  const word: number[] = new Array(length).fill(0);
  const count = p.vocabSize ** length;
  for (let w = 0; w < count; w++) {
    let x = w;
    for (let i = 0; i < length; i++) {
      word[i] = x % p.vocabSize;
      x = Math.floor(x / p.vocabSize);
    }
    const prob = p.sequenceProbability(word);
    if (prob === 0) continue;
    const next = p.nextTokenProbs(p.beliefAfter(word));
    for (const q of next) if (q > 0) total -= prob * q * Math.log(q);
  }
  return total;
}

Deno.test("mess3 myopic entropies match REFERENCE.md h(0..8)", () => {
  const expected = [
    1.09861,
    0.85772,
    0.81336,
    0.79812,
    0.79474,
    0.79378,
    0.79354,
    0.79348,
    0.79346,
  ];
  const h = myopicEntropies(mess3, 8);
  assert.equal(h.exactUpTo, 8);
  expected.forEach((e, L) =>
    assert.ok(Math.abs(h.values[L] - e) < 5e-6, `h(${L}) = ${h.values[L]}`)
  );
});

Deno.test("merged mixed-state tree equals brute-force word enumeration", () => {
  for (const p of [mess3, processes.rrxor({ p1: 0.3, p2: 0.6 }), processes.even_ones({ p: 0.4 })]) {
    const h = myopicEntropies(p, 5);
    for (let L = 0; L <= 5; L++) {
      const brute = bruteForceMyopic(p, L);
      assert.ok(
        Math.abs(h.values[L] - brute) < 1e-12,
        `${p.name} h(${L}) ${h.values[L]} vs ${brute}`,
      );
    }
  }
});

Deno.test("mess3 optimal losses: 0.85939 (n_ctx 6, BOS), 0.80251 (10, no BOS), 0.83303 (10, BOS)", () => {
  assert.ok(Math.abs(optimalLoss(mess3, { nCtx: 6, bos: true }) - 0.85939) < 5e-6);
  assert.ok(Math.abs(optimalLoss(mess3, { nCtx: 10, bos: false }) - 0.80251) < 5e-6);
  assert.ok(Math.abs(optimalLoss(mess3, { nCtx: 10, bos: true }) - 0.83303) < 5e-6);
});

Deno.test("EOS is a free prediction: L* with EOS averages one fewer process position", () => {
  const h = myopicEntropies(mess3, 6).values;
  const withEos = optimalLoss(mess3, { nCtx: 6, bos: true, eos: true });
  assert.ok(Math.abs(withEos - (h[0] + h[1] + h[2] + h[3] + h[4]) / 6) < 1e-12);
  const noBos = optimalLoss(mess3, { nCtx: 4, eos: true });
  assert.ok(Math.abs(noBos - (h[1] + h[2] + h[3]) / 4) < 1e-12);
});

Deno.test("long contexts past the enumeration cap use the last exact h(L)", () => {
  const capped = myopicEntropies(mess3, 30, { maxBeliefs: 1000 });
  assert.equal(capped.exactUpTo, 6); // 3^6 = 729 beliefs; 3^7 would pass the cap
  assert.equal(capped.values[30], capped.values[6]);
  const l64 = optimalLoss(mess3, { nCtx: 64, bos: true });
  // L* approaches the entropy rate from above as the context grows
  assert.ok(l64 > 0.793458 && l64 < 0.80, `L*(64) = ${l64}`);
});

Deno.test("entropy rates: mess3 0.793458, Z1R H(p)/3, RRXOR (2/3) ln 2, even ones, golden mean, coin", () => {
  assert.ok(Math.abs(entropyRate(mess3).rate - 0.793458) < 1e-6);
  assert.ok(Math.abs(entropyRate(processes.zero_one_random({ p: 0.5 })).rate - 0.231049) < 1e-6);
  assert.ok(Math.abs(entropyRate(processes.zero_one_random({ p: 0.2 })).rate - h2(0.2) / 3) < 1e-9);
  assert.ok(Math.abs(entropyRate(processes.rrxor({})).rate - 0.462098) < 1e-6);
  assert.ok(Math.abs(entropyRate(processes.even_ones({ p: 0.3 })).rate - h2(0.3) / 1.3) < 1e-9);
  assert.ok(
    Math.abs(entropyRate(processes.no_consecutive_ones({ p: 0.3 })).rate - h2(0.3) / 1.3) < 1e-9,
  );
  assert.ok(Math.abs(entropyRate(processes.coin({ p: 0.1 })).rate - h2(0.1)) < 1e-12);
});

Deno.test("rrxor(0.5, 0.5) has 36 distinct beliefs; coin has 1; zero_one_random 7", () => {
  assert.equal(reachableBeliefs(processes.rrxor({}), 200).count, 36);
  assert.equal(reachableBeliefs(processes.coin({}), 50).count, 1);
  const z1r = reachableBeliefs(processes.zero_one_random({}), 50);
  assert.equal(z1r.count, 7);
  // every belief is a probability vector
  for (let i = 0; i < z1r.count; i++) {
    const b = z1r.beliefs.subarray(3 * i, 3 * i + 3);
    assert.ok(Math.abs(b[0] + b[1] + b[2] - 1) < 1e-12 && b.every((x) => x >= 0));
  }
});
