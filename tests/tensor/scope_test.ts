import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, stepScope, Tensor, tidy, untracked } from "../../src/tensor/tensor.ts";
import { gpuTest } from "./_helpers.ts";

gpuTest("tidy frees temporaries; untracked caches survive it and stay usable", async (dev) => {
  const baseline = dev.bytesInUse();
  let cache: Tensor | null = null;
  const getCache = () => cache ??= untracked(() => Tensor.fromArray(dev, [1, 2, 3], [3]));
  const run = () =>
    tidy(() =>
      noGrad(() => {
        const x = Tensor.fromArray(dev, [10, 20, 30], [3]);
        return ops.sum(ops.mul(ops.add(x, getCache()), x));
      })
    );
  const first = run();
  assert.equal(await first.item(), 11 * 10 + 22 * 20 + 33 * 30);
  first.release();
  const afterFirst = dev.bytesInUse();
  assert.ok(afterFirst > baseline, "the cache is still allocated");
  for (let i = 0; i < 3; i++) {
    const again = run();
    assert.equal(await again.item(), 1540);
    again.release();
  }
  assert.equal(dev.bytesInUse(), afterFirst, "repeated tidy evaluations leak nothing");
  assert.equal(cache!.released, false);
  cache!.release();
  assert.equal(dev.bytesInUse(), baseline);
});

gpuTest("a tensor freed by backward() names its op, its shape and the cure", async (dev) => {
  const a = Tensor.fromArray(dev, [1, -2, 3, 4], [2, 2], { requiresGrad: true });
  const hidden = ops.gelu(a);
  const kept = ops.tanh(a).retain();
  const loss = ops.sum(ops.mul(hidden, kept));
  loss.backward();
  assert.throws(
    () => ops.mul(hidden, hidden),
    (e: Error) =>
      e.message === "mul (input 0): tensor was released: the output of gelu [2,2] was freed by " +
          "backward(); keep it with .retain()",
  );
  assert.equal((await kept.toArray()).length, 4, "a retained intermediate survives backward");
  const plain = Tensor.fromArray(dev, [1], [1]);
  plain.release();
  await assert.rejects(() => plain.toArray(), /a tensor \[1\] was released by release\(\)/);
  for (const t of [a, kept, loss]) t.release();
  a.grad?.release();
});

gpuTest(
  "stepScope frees the step's untracked temporaries but spares retained tensors and caches",
  (dev) => {
    const baseline = dev.bytesInUse();
    const w = Tensor.fromArray(dev, [1, 2, 3], [3], { requiresGrad: true });
    let kept: Tensor | null = null;
    let cache: Tensor | null = null;
    let temporary: Tensor | null = null;
    const afterFirst: number[] = [];
    for (let step = 0; step < 3; step++) {
      stepScope(() => {
        // A constant made under noGrad inside the forward: no backward frees it.
        temporary = noGrad(() => ops.scale(ops.exp(w), 0.5));
        cache ??= untracked(() => Tensor.fromArray(dev, [1, 1, 1], [3]));
        kept ??= noGrad(() => ops.abs(w)).retain();
        ops.sum(ops.mul(ops.mul(w, temporary), cache)).backward();
      });
      afterFirst.push(dev.bytesInUse());
    }
    assert.equal(new Set(afterFirst).size, 1, `bytes flat across steps: ${afterFirst}`);
    assert.equal(cache!.released || kept!.released, false);
    assert.throws(
      () => ops.relu(temporary!),
      /relu \(input 0\): tensor was released: the output of scale \[3\] was freed at the end of the training step/,
    );
    for (const t of [w, w.grad!, cache!, kept!]) t.release();
    assert.equal(dev.bytesInUse(), baseline);
  },
);
