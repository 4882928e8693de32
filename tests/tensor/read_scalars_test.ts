import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { readScalars } from "../../src/tensor/read_scalars.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { gpuTest } from "./_helpers.ts";

gpuTest(
  "readScalars reads mixed-type scalars in one map, in order with recorded work",
  async (dev) => {
    const loss = Tensor.fromArray(dev, [1.5], []);
    const counter = Tensor.fromArray(dev, [7, 4_000_000_000], [2], { dtype: "u32" });
    const view = counter.view(1, [1]);
    const id = Tensor.fromArray(dev, [-3], [1], { dtype: "i32" });
    noGrad(() => ops.accumulate(loss, Tensor.fromArray(dev, [0.25], [])));
    const before = dev.recorder.submits;
    assert.deepEqual(await readScalars(dev, [loss, null, view, id]), [1.75, null, 4e9, -3]);
    assert.equal(dev.recorder.submits, before + 1);
    // The staging buffer is reused: a second read creates no buffer.
    const create = dev.gpu.createBuffer.bind(dev.gpu);
    let created = 0;
    dev.gpu.createBuffer = (d: GPUBufferDescriptor) => (created++, create(d));
    assert.deepEqual(await readScalars(dev, [id, loss]), [-3, 1.75]);
    dev.gpu.createBuffer = create;
    assert.equal(created, 0);
    await assert.rejects(() => readScalars(dev, [counter]), /tensor of 2 elements/);
  },
);

gpuTest("uploads between recorded dispatches go through the reused staging arena", async (dev) => {
  const a = Tensor.fromArray(dev, [1, 2, 3], [3]);
  const step = async (v: number) => {
    const b = noGrad(() => ops.scale(a, 2)); // pending work: uploads must be staged
    a.write([v, v, v]);
    const c = noGrad(() => ops.scale(a, 1));
    const out = [Array.from(await b.toArray()), Array.from(await c.toArray())];
    [b, c].forEach((t) => t.release());
    return out;
  };
  await step(5); // first use creates the arena
  const create = dev.gpu.createBuffer.bind(dev.gpu);
  let staged = 0;
  dev.gpu.createBuffer = (d: GPUBufferDescriptor) => {
    if (!(d.usage & GPUBufferUsage.MAP_READ)) staged++; // readbacks aside
    return create(d);
  };
  a.write([1, 2, 3]);
  const [b, c] = await step(9);
  dev.gpu.createBuffer = create;
  assert.deepEqual(b, [2, 4, 6]); // recorded before the write: old values
  assert.deepEqual(c, [9, 9, 9]);
  assert.equal(staged, 0);
});
