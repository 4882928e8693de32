import assert from "node:assert/strict";
import { debiasedEma, downsampleMinMax } from "../../src/viz/downsample.ts";

function ramp(n: number): { x: number[]; y: number[] } {
  const x = Array.from({ length: n }, (_, i) => i + 1);
  return { x, y: x.map((s) => 3 * Math.exp(-s / 5000) + 0.01 * Math.sin(s)) };
}

Deno.test("downsampleMinMax returns short series unchanged, skipping non-finite points", () => {
  const out = downsampleMinMax([1, 2, 3, 4], [0.5, NaN, 0.7, Infinity], 10);
  assert.deepEqual(out, { x: [1, 3], y: [0.5, 0.7] });
});

Deno.test("downsampleMinMax keeps at most N points, the ends, and every bucket's extremes", () => {
  const { x, y } = ramp(100_000);
  y[31_337] = 50; // a one-step spike
  y[77_001] = -5; // a one-step dip
  const out = downsampleMinMax(x, y, 2000);
  assert.ok(out.x.length <= 2000 && out.x.length >= 1900, `got ${out.x.length} points`);
  assert.equal(out.x[0], 1);
  assert.equal(out.x.at(-1), 100_000);
  assert.ok(out.x.includes(31_338) && out.y.includes(50), "spike lost");
  assert.ok(out.x.includes(77_002) && out.y.includes(-5), "dip lost");
  for (let i = 1; i < out.x.length; i++) assert.ok(out.x[i] > out.x[i - 1], "order kept");
  // The global min and max of every bucket of 100,000/999 points appear: check one bucket.
  const buckets = Math.floor((2000 - 2) / 2);
  const b = 500,
    start = Math.floor(b * 100_000 / buckets),
    end = Math.floor((b + 1) * 100_000 / buckets);
  const slice = y.slice(start, end);
  assert.ok(out.y.includes(Math.max(...slice)) && out.y.includes(Math.min(...slice)));
});

Deno.test("downsampleMinMax restricts to an x range", () => {
  const { x, y } = ramp(10_000);
  const out = downsampleMinMax(x, y, 100, [2000, 3000]);
  assert.ok(out.x.length <= 100);
  assert.equal(out.x[0], 2000);
  assert.equal(out.x.at(-1), 3000);
});

Deno.test("debiasedEma matches the closed form and weight 0 is the identity", () => {
  const v = [1, 2, 3];
  const w = 0.5;
  // closed form: ema_t = Σ w^(t-i)(1-w)v_i / (1 - w^t)
  const expected = [
    1,
    (0.5 * 0.5 * 1 + 0.5 * 2) / (1 - 0.25),
    (0.125 * 1 + 0.25 * 2 + 0.5 * 3) / (1 - 0.125),
  ];
  const got = debiasedEma(v, w);
  expected.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-12, `${got[i]} vs ${e}`));
  assert.deepEqual([...debiasedEma(v, 0)], v);
  const withGap = debiasedEma([1, NaN, 1], 0.9);
  assert.ok(Number.isNaN(withGap[1]) && Math.abs(withGap[2] - 1) < 1e-12);
});
