import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, gpuTest, randomArray } from "./_helpers.ts";

gpuTest("splitHeads/mergeHeads match the oracle and are each other's backward", async (dev) => {
  const [B, T, H, D] = [2, 5, 3, 4];
  const x = randomArray(B * T * H * D, 1);
  const g = randomArray(B * T * H * D, 2);
  const xt = Tensor.fromArray(dev, x, [B, T, H * D], { requiresGrad: true });
  const split = ops.splitHeads(xt, H).retain();
  assert.deepEqual(split.shape, [B, H, T, D]);
  // d/dx Σ split·G = swap⁻¹(G)
  ops.sum(ops.mul(split, Tensor.fromArray(dev, g, [B, H, T, D]))).backward();
  assertClose(await split.toArray(), ref.swapMiddle(x, B, T, H, D), { atol: 0 });
  assertClose(await xt.grad!.toArray(), ref.swapMiddle(g, B, H, T, D), { atol: 0 });
  const st = Tensor.fromArray(dev, x, [B, H, T, D], { requiresGrad: true });
  const merged = ops.mergeHeads(st).retain();
  assert.deepEqual(merged.shape, [B, T, H * D]);
  ops.sum(ops.mul(merged, Tensor.fromArray(dev, g, [B, T, H * D]))).backward();
  assertClose(await merged.toArray(), ref.swapMiddle(x, B, H, T, D), { atol: 0 });
  assertClose(await st.grad!.toArray(), ref.swapMiddle(g, B, T, H, D), { atol: 0 });
  assert.throws(() => ops.splitHeads(xt, 5), /divisible by 5, got \[2,5,12\]/);
});

gpuTest("reshape is a view and passes gradients through", async (dev) => {
  const xt = Tensor.fromArray(dev, [1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true });
  const r = xt.reshape([3, -1]);
  assert.deepEqual(r.shape, [3, 2]);
  assert.equal(r.buffer, xt.buffer);
  ops.sum(ops.scale(r, 2)).backward();
  assert.deepEqual(Array.from(await xt.grad!.toArray()), [2, 2, 2, 2, 2, 2]);
  assert.throws(() => xt.reshape([4, 2]), /cannot view \[2,3\] as \[4,2\]/);
});

Deno.test("oracle: swapMiddle is a permutation whose inverse swaps back", () => {
  const x = randomArray(2 * 3 * 4 * 5, 3);
  const y = ref.swapMiddle(x, 2, 3, 4, 5);
  assert.deepEqual([...y].sort(), [...x].sort());
  assert.deepEqual(Array.from(ref.swapMiddle(y, 2, 4, 3, 5)), Array.from(x));
});
