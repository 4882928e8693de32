// Expected integers come from a separate Python transcription of each published algorithm
// (murmur3 fmix32, FNV-1a, mulberry32, sfc32, xoshiro128**); they also pin the streams that resume, dataset
// splits and parameter init depend on.
import assert from "node:assert/strict";
import {
  fmix32,
  fnv1a32,
  hashInts,
  hashUniform,
  KeyedSfc32,
  KeyedXoshiro128,
  Mulberry32,
  WeylFmix32,
} from "../../src/util/random.ts";

Deno.test("fmix32 and fnv1a32 match the reference algorithms", () => {
  assert.equal(fmix32(1), 1364076727);
  assert.equal(fmix32(0xdeadbeef), 233162409);
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("h.0.attn.c_attn.weight"), 2435934365);
});

Deno.test("Mulberry32: the reference stream, scaled to [0, 1)", () => {
  const rng = new Mulberry32(42);
  assert.deepEqual(
    [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()],
    [2581720956, 1925393290, 3661312704],
  );
  assert.equal(rng.next(), 2876485805 / 2 ** 32);
});

Deno.test("WeylFmix32: fmix32 of a Weyl sequence; uniforms in (0, 1); unit normals", () => {
  const rng = new WeylFmix32(7);
  assert.deepEqual([rng.nextUint32(), rng.nextUint32()], [588686121, 1937383562]);
  assert.equal(rng.uniform(), (4286812467 + 0.5) / 2 ** 32);
  let uniformSum = 0, sum = 0, sq = 0;
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u > 0 && u < 1);
    uniformSum += u;
    const x = rng.normal();
    sum += x;
    sq += x * x;
  }
  assert.ok(Math.abs(uniformSum / n - 0.5) < 0.005, `uniform mean ${uniformSum / n}`);
  // Standard errors: mean 1/sqrt(n) ≈ 0.0045, variance sqrt(2/n) ≈ 0.0063.
  assert.ok(Math.abs(sum / n) < 0.025, `mean ${sum / n}`);
  assert.ok(Math.abs(sq / n - 1) < 0.035, `variance ${sq / n}`);
});

Deno.test("KeyedSfc32: sfc32 keyed by (seed, stream, index) including indices past 2^32", () => {
  const rng = new KeyedSfc32(5, 1, 2 ** 40 + 3);
  assert.deepEqual([rng.nextUint32(), rng.nextUint32()], [863683517, 2712096340]);
  assert.equal(rng.nextFloat(), (832642651 * 2 ** 21 + (1854352958 >>> 11)) / 2 ** 53);
  const again = new KeyedSfc32(5, 1, 2 ** 40 + 3);
  assert.notEqual(again.nextUint32(), new KeyedSfc32(5, 1, 3).nextUint32());
  for (let i = 0; i < 1000; i++) {
    const k = again.nextInt(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
});

Deno.test("hashUniform: a stateless draw per (seed, index)", () => {
  assert.equal(hashUniform(0, 0), 0.665013991529122);
  assert.equal(hashUniform(3, 2 ** 45 + 12), 0.23676188150420785);
  let below = 0;
  for (let i = 0; i < 10_000; i++) if (hashUniform(1, i) < 0.1) below++;
  assert.ok(Math.abs(below - 1000) < 120, `${below} of 10000 below 0.1`);
});

Deno.test("KeyedXoshiro128: xoshiro128** keyed by a list of integers (synthetic data streams)", () => {
  assert.equal(hashInts([1, 2, 3]), 1528416015);
  const rng = new KeyedXoshiro128([1337, 1, 2 ** 40 + 5, 7]);
  assert.deepEqual(
    [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()],
    [3916235581, 2236269582, 3453592031],
  );
  for (let i = 0; i < 1000; i++) {
    const k = rng.int(3, 9);
    assert.ok(Number.isInteger(k) && k >= 3 && k <= 9);
  }
});
