import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

Deno.test("oracle: layerNorm gradients match finite differences", () => {
  const cols = 5;
  const x = randomArray(3 * cols, 1, -2, 2);
  const w = randomArray(cols, 2);
  const b = randomArray(cols, 3);
  const g = randomArray(3 * cols, 4);
  const loss = (xv: Float64Array, wv: Float64Array, bv: Float64Array) =>
    ref.layerNormForward(xv, wv, bv, cols).y.reduce((s, v, i) => s + v * g[i], 0);
  const { dx, dweight, dbias } = ref.layerNormBackward(x, w, g, cols);
  assertClose(dx, ref.numericGradient((v) => loss(v, w, b), x), { atol: 1e-6 });
  assertClose(dweight, ref.numericGradient((v) => loss(x, v, b), w), { atol: 1e-6 });
  assertClose(dbias, ref.numericGradient((v) => loss(x, w, v), b), { atol: 1e-6 });
});

gpuTest("layerNorm forward+backward vs oracle (with and without bias)", async (dev) => {
  for (const [rows, cols, withBias] of [[1, 1, true], [7, 33, true], [130, 384, false]] as const) {
    const x = f32(randomArray(rows * cols, rows + cols, -3, 3).map((v, i) => v + (i % 7)));
    const w = f32(randomArray(cols, 5, 0.5, 1.5));
    const b = f32(randomArray(cols, 6));
    const g = f32(randomArray(rows * cols, 7));
    const xt = Tensor.fromArray(dev, x, [rows, cols], { requiresGrad: true });
    const wt = Tensor.fromArray(dev, w, [cols], { requiresGrad: true });
    const bt = withBias ? Tensor.fromArray(dev, b, [cols], { requiresGrad: true }) : null;
    const y = ops.layerNorm(xt, wt, bt).retain();
    ops.sum(ops.mul(y, Tensor.fromArray(dev, g, [rows, cols]))).backward();
    const what = `rows=${rows} cols=${cols}`;
    const expected = ref.layerNormForward(x, w, withBias ? b : null, cols);
    assertClose(await y.toArray(), expected.y, { atol: 1e-4, what: `y ${what}` });
    const grads = ref.layerNormBackward(x, w, g, cols);
    assertClose(await xt.grad!.toArray(), grads.dx, { atol: 1e-4, what: `dx ${what}` });
    assertClose(await wt.grad!.toArray(), grads.dweight, { atol: 1e-4, what: `dw ${what}` });
    if (bt) assertClose(await bt.grad!.toArray(), grads.dbias, { atol: 1e-4, what: `db ${what}` });
  }
});
