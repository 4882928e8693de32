import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

gpuTest("concat along each axis matches the oracle; gradients slice back", async (dev) => {
  const lens = [1, 7, 33];
  for (const axis of [0, 1, -1]) {
    const shapes = lens.map((l) => {
      const s = [2, 3, 5];
      s[(axis + 3) % 3] = l;
      return s;
    });
    const data = shapes.map((s, i) => f32(randomArray(s.reduce((a, b) => a * b, 1), 60 + i)));
    const ts = shapes.map((s, i) => Tensor.fromArray(dev, data[i], s, { requiresGrad: true }));
    const y = ops.concat(ts, axis).retain();
    const [outer, , inner] = ref.axisSplit(y.shape, axis);
    const expected = ref.concatReference(data, lens, outer, inner);
    assertClose(await y.toArray(), expected, { what: `concat axis ${axis}` });
    const g = f32(randomArray(y.size, 70));
    ops.sum(ops.mul(y, Tensor.fromArray(dev, g, y.shape))).backward();
    let start = 0;
    for (let i = 0; i < ts.length; i++) {
      const total = y.shape[(axis + 3) % 3];
      const part = ref.sliceReference(g, outer, total, inner, start, start + lens[i]);
      assertClose(await ts[i].grad!.toArray(), part, { what: `dconcat ${i} axis ${axis}` });
      start += lens[i];
    }
  }
  const a = Tensor.zeros(dev, [2, 3]);
  assert.throws(() => ops.concat([a, Tensor.zeros(dev, [3, 3])], 1), /differ outside axis 1/);
});

gpuTest("slice takes Python-style ranges; its gradient is zero outside", async (dev) => {
  const shape = [3, 257, 2];
  const x = f32(randomArray(3 * 257 * 2, 80));
  for (const [start, end, s, e] of [[5, 40, 5, 40], [-1, undefined, 256, 257], [-300, 3, 0, 3]]) {
    const xt = Tensor.fromArray(dev, x, shape, { requiresGrad: true });
    const y = ops.slice(xt, 1, start!, end).retain();
    assert.deepEqual(y.shape, [3, e! - s!, 2]);
    assertClose(await y.toArray(), ref.sliceReference(x, 3, 257, 2, s!, e!));
    ops.sum(y).backward();
    const grad = await xt.grad!.toArray();
    const expected = x.map((_, i) => {
      const l = Math.floor(i / 2) % 257;
      return l >= s! && l < e! ? 1 : 0;
    });
    assert.deepEqual(Array.from(grad), Array.from(expected));
  }
});

gpuTest("transpose swaps the last two axes, forward and backward", async (dev) => {
  for (const shape of [[1, 1], [7, 33], [2, 3, 33, 7]]) {
    const [m, n] = shape.slice(-2);
    const batch = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const x = f32(randomArray(batch * m * n, 90));
    const g = f32(randomArray(batch * m * n, 91));
    const xt = Tensor.fromArray(dev, x, shape, { requiresGrad: true });
    const y = ops.transpose(xt).retain();
    assert.deepEqual(y.shape, [...shape.slice(0, -2), n, m]);
    assertClose(await y.toArray(), ref.transposeReference(x, batch, m, n));
    ops.sum(ops.mul(y, Tensor.fromArray(dev, g, y.shape))).backward();
    assertClose(await xt.grad!.toArray(), ref.transposeReference(g, batch, n, m));
  }
  assert.throws(() => ops.transpose(Tensor.zeros(dev, [4])), /at least 2 dims/);
});
