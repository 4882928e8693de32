import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { gpuTest, randomArray } from "./_helpers.ts";

gpuTest(
  "f16 storage: cast rounds like IEEE half, round-trips, and passes gradients",
  async (dev) => {
    if (!dev.hasF16) {
      const t = Tensor.fromArray(dev, [1], [1]);
      assert.throws(() => ops.cast(t, "f16"), /no "shader-f16" feature/);
      return;
    }
    const values = [0, 1, -2.5, 65504, 70000, 1e-8, 0.1, 3.14159, -1 / 3];
    const x = Tensor.fromArray(dev, values, [values.length], { requiresGrad: true });
    const half = ops.cast(x, "f16").retain();
    assert.equal(half.dtype, "f16");
    // The host's own Float16Array is the independent judge of rounding (nearest even, overflow →
    // inf, underflow → 0).
    const expected = Array.from(Float16Array.from(values));
    assert.deepEqual(Array.from(await half.toArray()), expected);
    const back = ops.cast(half, "f32").retain();
    assert.deepEqual(Array.from(await back.toArray()), expected);
    ops.sum(ops.scale(back, 3)).backward();
    assert.deepEqual(Array.from(await x.grad!.toArray()), values.map(() => 3));
    // Uploads and zeros of odd-length f16 tensors, and the storage-only rule.
    const odd = Tensor.fromArray(dev, randomArray(5, 1), [5], { dtype: "f16" });
    assert.deepEqual(
      Array.from(await odd.toArray()),
      Array.from(Float16Array.from(randomArray(5, 1))),
    );
    assert.deepEqual(Array.from(await Tensor.zeros(dev, [3], { dtype: "f16" }).toArray()), [
      0,
      0,
      0,
    ]);
    assert.throws(() => ops.gelu(odd), /f16 tensors are storage only/);
    assert.equal(ops.cast(x, "f32"), x);
  },
);
