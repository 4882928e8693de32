import assert from "node:assert/strict";
import { constantInit, normalInit, uniformInit } from "../../src/nn/init.ts";

Deno.test("normalInit: seeded, per-name streams with the requested mean and std", () => {
  const a = normalInit(1337, "h.0.mlp.c_fc.weight", 100_000, 0.02);
  assert.deepEqual(a, normalInit(1337, "h.0.mlp.c_fc.weight", 100_000, 0.02));
  assert.notDeepEqual(a.subarray(0, 8), normalInit(1338, "h.0.mlp.c_fc.weight", 8, 0.02));
  assert.notDeepEqual(a.subarray(0, 8), normalInit(1337, "h.1.mlp.c_fc.weight", 8, 0.02));
  let sum = 0, sq = 0, beyond3 = 0;
  for (const x of a) {
    sum += x;
    sq += x * x;
    if (Math.abs(x) > 3 * 0.02) beyond3++;
  }
  const mean = sum / a.length;
  const std = Math.sqrt(sq / a.length - mean * mean);
  // Standard error of the mean is 0.02/sqrt(1e5) ≈ 6.3e-5; of the std ≈ 4.5e-5.
  assert.ok(Math.abs(mean) < 3e-4, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.02) < 3e-4, `std ${std}`);
  // A normal puts 0.27% of its mass beyond 3σ.
  assert.ok(Math.abs(beyond3 / a.length - 0.0027) < 0.001, `tail ${beyond3 / a.length}`);
});

Deno.test("constantInit fills every entry", () => {
  assert.deepEqual(constantInit(3, 1), new Float32Array([1, 1, 1]));
});

Deno.test("uniformInit: seeded samples inside (-bound, bound) with the uniform's mean and std", () => {
  const bound = 1 / Math.sqrt(128);
  const a = uniformInit(7, "h.0.attn.c_attn.bias", 100_000, bound);
  assert.deepEqual(a, uniformInit(7, "h.0.attn.c_attn.bias", 100_000, bound));
  assert.notDeepEqual(a.subarray(0, 8), uniformInit(7, "h.1.attn.c_attn.bias", 8, bound));
  let sum = 0, sq = 0, lowTenth = 0;
  for (const x of a) {
    assert.ok(Math.abs(x) < bound, `${x} outside ±${bound}`);
    sum += x;
    sq += x * x;
    if (x < -0.8 * bound) lowTenth++;
  }
  const mean = sum / a.length;
  // U(-b, b): std b/sqrt(3); a tenth of the mass lies below -0.8b.
  assert.ok(Math.abs(mean) < 3 * bound / Math.sqrt(3 * a.length), `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sq / a.length) / (bound / Math.sqrt(3)) - 1) < 0.01);
  assert.ok(Math.abs(lowTenth / a.length - 0.1) < 0.005, `tail ${lowTenth / a.length}`);
});
