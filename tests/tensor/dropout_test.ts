import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, gpuTest, randomArray } from "./_helpers.ts";

Deno.test("oracle: pcgHash matches known PCG-hash values", () => {
  // Computed independently with Python integers masked to 32 bits.
  assert.equal(ref.pcgHash(0), 129708002);
  assert.equal(ref.pcgHash(1), 2831084092);
});

gpuTest(
  "dropout: exact mask of the counter hash, reproducible, backward uses the same mask",
  async (dev) => {
    const n = 10000;
    const p = 0.25;
    const x = randomArray(n, 1, 0.5, 1.5);
    const xt = Tensor.fromArray(dev, x, [n], { requiresGrad: true });
    const y = ops.dropout(xt, p, 1234).retain();
    ops.sum(y).backward();
    const yv = await y.toArray();
    const expected = ref.dropoutForward(x, p, 1234);
    assertClose(yv, expected, { atol: 1e-6 });
    const kept = expected.filter((v) => v !== 0).length / n;
    assert.ok(Math.abs(kept - (1 - p)) < 0.02, `kept ${kept}`);
    assertClose(
      await xt.grad!.toArray(),
      ref.dropoutForward(new Float64Array(n).fill(1), p, 1234),
      {
        atol: 1e-6,
      },
    );
    const other = await noGrad(() => ops.dropout(xt, p, 1235)).toArray();
    assert.notDeepEqual(Array.from(other), Array.from(yv));
    assert.equal(ops.dropout(xt, 0, 1), xt);
    assert.throws(() => ops.dropout(xt, 1, 1), /p must be in \[0, 1\)/);
  },
);
