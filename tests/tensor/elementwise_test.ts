import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

Deno.test("oracle: gelu gradient matches finite differences", () => {
  const x = randomArray(40, 1, -4, 4);
  const w = randomArray(40, 2);
  const f = (v: Float64Array) => ref.geluForward(v).reduce((s, y, i) => s + y * w[i], 0);
  assertClose(ref.geluBackward(x, w), ref.numericGradient(f, x), { atol: 1e-7, rtol: 1e-6 });
});

gpuTest("gelu forward and backward match the float64 oracle", async (dev) => {
  for (const n of [1, 7, 256, 1000, 70001]) {
    const x = f32(randomArray(n, n, -6, 6));
    const w = f32(randomArray(n, n + 1));
    const xt = Tensor.fromArray(dev, x, [n], { requiresGrad: true });
    const wt = Tensor.fromArray(dev, w, [n]);
    const y = ops.gelu(xt).retain();
    const loss = ops.sum(ops.mul(y, wt));
    loss.backward();
    assertClose(await y.toArray(), ref.geluForward(x), { what: `gelu(n=${n})` });
    assertClose(await xt.grad!.toArray(), ref.geluBackward(x, w), { what: `dgelu(n=${n})` });
    const expectedLoss = ref.sumAll(ref.mulForward(ref.geluForward(x), w));
    assertClose([await loss.item()], [expectedLoss], { atol: 1e-4, rtol: 1e-4, what: "loss" });
    for (const t of [xt, wt, y, loss, xt.grad!]) t.release();
  }
});

gpuTest("gelu stays finite for large |x|", async (dev) => {
  const x = Tensor.fromArray(dev, [-1e4, -50, 50, 1e4], [4]);
  const y = await noGrad(() => ops.gelu(x)).toArray();
  assert.deepEqual(Array.from(y), [-0, -0, 50, 1e4]);
});

gpuTest("add broadcasts a bias and sums its gradient over rows", async (dev) => {
  const [rows, cols] = [300, 13];
  const a = f32(randomArray(rows * cols, 5));
  const b = f32(randomArray(cols, 6));
  const w = f32(randomArray(rows * cols, 7));
  const at = Tensor.fromArray(dev, a, [3, 100, cols], { requiresGrad: true });
  const bt = Tensor.fromArray(dev, b, [cols], { requiresGrad: true });
  const wt = Tensor.fromArray(dev, w, [3, 100, cols]);
  const y = ops.add(at, bt).retain();
  ops.sum(ops.mul(y, wt)).backward();
  assertClose(await y.toArray(), ref.addForward(a, b));
  assertClose(await at.grad!.toArray(), w);
  assertClose(await bt.grad!.toArray(), ref.sumToSize(w, cols), { atol: 1e-4 });
});

gpuTest("mul, scale and mean backward; a tensor used twice gets both gradients", async (dev) => {
  const n = 517;
  const a = f32(randomArray(n, 8));
  const b = f32(randomArray(n, 9));
  const at = Tensor.fromArray(dev, a, [n], { requiresGrad: true });
  const bt = Tensor.fromArray(dev, b, [n], { requiresGrad: true });
  // loss = mean(3 * a * b + a)  →  da = (3b + 1)/n, db = 3a/n
  const loss = ops.mean(ops.add(ops.scale(ops.mul(at, bt), 3), at));
  loss.backward();
  assertClose(await at.grad!.toArray(), b.map((v) => (3 * v + 1) / n));
  assertClose(await bt.grad!.toArray(), a.map((v) => (3 * v) / n));
  const expected = a.reduce((s, v, i) => s + 3 * v * b[i] + v, 0) / n;
  assertClose([await loss.item()], [expected], { atol: 1e-5 });
});

gpuTest("errors: shape mismatch names both shapes; released tensors say so", async (dev) => {
  const a = Tensor.zeros(dev, [2, 3]);
  const b = Tensor.zeros(dev, [4]);
  assert.throws(() => ops.add(a, b), /\[4\].*\[2,3\]/);
  b.release();
  assert.throws(() => ops.gelu(b), /tensor was released/);
  await assert.rejects(() => b.toArray(), /tensor was released/);
  assert.deepEqual(Array.from(await a.toArray()), [0, 0, 0, 0, 0, 0]);
});

gpuTest("backward frees intermediates and records work without submitting", async (dev) => {
  const x = Tensor.fromArray(dev, randomArray(1000, 3), [1000], { requiresGrad: true });
  await dev.sync();
  const before = dev.bytesInUse();
  const submits = dev.recorder.submits;
  const loss = ops.sum(ops.gelu(ops.gelu(x)));
  loss.backward();
  assert.equal(dev.recorder.submits, submits, "backward must not submit");
  assert.throws(() => loss.backward(), /already back-propagated and freed/);
  loss.release();
  x.grad!.release();
  x.grad = null;
  assert.equal(dev.bytesInUse(), before);
});
