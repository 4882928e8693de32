import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

/** Quarter steps: exact ties along an axis are common, so first-index tie breaking is tested. */
function tied(n: number, seed: number): Float64Array {
  return Float64Array.from(randomArray(n, seed, -2, 2), (v) => Math.round(v * 4) / 4);
}

Deno.test("oracle: axis reduction gradients match finite differences", () => {
  const [outer, len, inner] = [3, 5, 4];
  const x = randomArray(outer * len * inner, 41); // distinct values: max/min are smooth here
  const g = randomArray(outer * inner, 42);
  for (const op of ["sum", "mean", "max", "min"] as const) {
    const f = (v: Float64Array) =>
      ref.reduceAxisReference(op, v, outer, len, inner).values.reduce((s, y, i) => s + y * g[i], 0);
    assertClose(
      ref.reduceAxisGradReference(op, x, g, outer, len, inner),
      ref.numericGradient(f, x),
      { atol: 1e-6, what: op },
    );
  }
});

const SHAPES = [[1], [7], [257], [3, 33], [2, 7, 5], [4, 257, 3], [1, 1000], [2, 3, 1, 7]];

gpuTest("sum, mean, max, min, argmax along every axis match the oracle", async (dev) => {
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tied(n, n);
    for (let axis = -1; axis < shape.length; axis++) {
      const [outer, len, inner] = ref.axisSplit(shape, axis);
      const g = f32(randomArray(outer * inner, n + axis));
      // keepdim changes only the shape: alternate it over the axes.
      for (const keepdim of [axis % 2 === 0]) {
        for (const op of ["sum", "mean", "max", "min"] as const) {
          const what = `${op}(${JSON.stringify(shape)}, axis ${axis}, keepdim ${keepdim})`;
          const xt = Tensor.fromArray(dev, x, shape, { requiresGrad: true });
          const y = ops[op](xt, axis, { keepdim }).retain();
          const expectShape = [...shape];
          if (keepdim) expectShape[(axis + shape.length) % shape.length] = 1;
          else expectShape.splice((axis + shape.length) % shape.length, 1);
          assert.deepEqual(y.shape, expectShape, what);
          const gt = Tensor.fromArray(dev, g, y.shape);
          ops.sum(ops.mul(y, gt)).backward();
          const expected = ref.reduceAxisReference(op, x, outer, len, inner).values;
          assertClose(await y.toArray(), expected, { atol: 1e-5, rtol: 1e-5, what });
          assertClose(
            await xt.grad!.toArray(),
            ref.reduceAxisGradReference(op, x, g, outer, len, inner),
            { what: `d ${what}` },
          );
          for (const t of [xt, y, gt, xt.grad!]) t.release();
        }
        const xt = Tensor.fromArray(dev, x, shape);
        const idx = ops.argmax(xt, axis, { keepdim });
        assert.equal(idx.dtype, "i32");
        const expected = ref.reduceAxisReference("max", x, outer, len, inner).indices;
        assert.deepEqual(Array.from(await idx.toArray()), Array.from(expected), `argmax ${shape}`);
        xt.release();
        idx.release();
      }
    }
  }
});

gpuTest("reductions over all elements; long rows; errors", async (dev) => {
  const x = tied(5000, 51);
  const xt = Tensor.fromArray(dev, x, [2, 2500], { requiresGrad: true });
  const m = ops.max(xt).retain();
  assert.deepEqual(m.shape, []);
  m.backward();
  const all = ref.reduceAxisReference("max", x, 1, 5000, 1);
  assert.equal(await m.item(), all.values[0]);
  const grad = Array.from(await xt.grad!.toArray());
  assert.equal(grad.reduce((s, v) => s + v, 0), 1, "one element gets the gradient");
  assert.equal(grad[all.indices[0]], 1, "the first maximal element");
  const flat = noGrad(() => ops.argmax(xt));
  assert.equal(await flat.item(), all.indices[0]);
  const kept = noGrad(() => ops.mean(xt, undefined, { keepdim: true }));
  assert.deepEqual(kept.shape, [1, 1]);
  assertClose([await kept.item()], [x.reduce((s, v) => s + v, 0) / 5000], { atol: 1e-5 });
  const rowSums = noGrad(() => ops.sum(xt, 1));
  assertClose(
    await rowSums.toArray(),
    ref.reduceAxisReference("sum", x, 2, 2500, 1).values,
    { atol: 1e-3 },
  );
  assert.throws(() => ops.sum(xt, 2), /axis 2 is out of range for shape \[2,2500\]/);
  assert.throws(() => ops.max(Tensor.zeros(dev, [3, 0]), 1), /empty axis/);
});
