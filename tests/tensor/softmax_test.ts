import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

Deno.test("oracle: softmax gradient matches finite differences", () => {
  const cols = 6;
  const x = randomArray(2 * cols, 1, -3, 3);
  const g = randomArray(2 * cols, 2);
  const f = (v: Float64Array) => ref.softmaxForward(v, cols).reduce((s, y, i) => s + y * g[i], 0);
  assertClose(
    ref.softmaxBackward(ref.softmaxForward(x, cols), g, cols),
    ref.numericGradient(f, x),
    { atol: 1e-7 },
  );
});

gpuTest("softmax forward+backward vs oracle, stable for large logits", async (dev) => {
  for (const [rows, cols, spread] of [[1, 1, 1], [5, 65, 4], [64, 257, 80]] as const) {
    const x = f32(randomArray(rows * cols, cols, -spread, spread));
    const g = f32(randomArray(rows * cols, cols + 1));
    const xt = Tensor.fromArray(dev, x, [rows, cols], { requiresGrad: true });
    const y = ops.softmax(xt).retain();
    ops.sum(ops.mul(y, Tensor.fromArray(dev, g, [rows, cols]))).backward();
    const yRef = ref.softmaxForward(x, cols);
    assertClose(await y.toArray(), yRef, { atol: 1e-6, what: `y cols=${cols}` });
    assertClose(await xt.grad!.toArray(), ref.softmaxBackward(yRef, g, cols), {
      atol: 1e-6,
      what: `dx cols=${cols}`,
    });
  }
});
