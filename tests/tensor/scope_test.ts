import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, Tensor, tidy, untracked } from "../../src/tensor/tensor.ts";
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
