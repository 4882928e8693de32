import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { ParameterSet } from "../../src/tensor/parameters.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, gpuTest } from "./_helpers.ts";

gpuTest(
  "ParameterSet: aligned views, grads land in the flat buffer, zeroGrad, read/write",
  async (dev) => {
    const w = Float32Array.from({ length: 6 }, (_, i) => i + 1);
    const b = Float32Array.from([0.5, -0.5]);
    const params = new ParameterSet(dev, [
      { name: "w", shape: [2, 3], init: w, decay: true },
      { name: "b", shape: [2], init: b, decay: false },
    ]);
    assert.equal(params.numel, 8);
    assert.deepEqual(params.entries.map((e) => e.offset), [0, 64]);
    assert.deepEqual(Array.from(params.decayMask().slice(0, 8)), [1, 1, 1, 1, 1, 1, 0, 0]);
    const wt = params.tensors.get("w")!;
    const bt = params.tensors.get("b")!;
    assert.equal(bt.byteOffset % 256, 0);
    const x = Tensor.fromArray(dev, [1, 2, 3], [1, 3]);
    // y = x·wᵀ + b = [14.5, 31.5]; loss = sum(y) twice → dW = 2·[x; x], db = [2, 2]
    for (let i = 0; i < 2; i++) ops.sum(ops.linear(x, wt, bt)).backward();
    const grads = await params.readGrads();
    assertClose(grads.get("w")!, [2, 4, 6, 2, 4, 6]);
    assertClose(grads.get("b")!, [2, 2]);
    params.zeroGrad();
    assert.deepEqual(Array.from(await bt.grad!.toArray()), [0, 0]);
    params.write(new Map([["b", Float32Array.from([7, 8])]]));
    const values = await params.read();
    assert.deepEqual(Array.from(values.get("b")!), [7, 8]);
    assert.deepEqual(Array.from(values.get("w")!), Array.from(w));
    assert.throws(() => params.write(new Map([["nope", b]])), /unknown parameter "nope"/);
    params.destroy();
  },
);
