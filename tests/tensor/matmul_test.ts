import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

Deno.test("oracle: matmul gradients match finite differences (all transposes)", () => {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    const [M, K, N] = [3, 4, 5];
    const a = randomArray(M * K, 1);
    const b = randomArray(K * N, 2);
    const w = randomArray(M * N, 3);
    const loss = (av: Float64Array, bv: Float64Array) =>
      ref.matmulForward(av, bv, 1, M, K, N, transA, transB).reduce((s, v, i) => s + v * w[i], 0);
    const { da, db } = ref.matmulBackward(a, b, w, 1, M, K, N, transA, transB);
    assertClose(da, ref.numericGradient((v) => loss(v, b), a), { atol: 1e-7 });
    assertClose(db, ref.numericGradient((v) => loss(a, v), b), { atol: 1e-7 });
  }
});

/** [M, K, N, batch] shapes: awkward (not tile multiples), degenerate (1), and big-tile ones. */
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 7, 5, 1],
  [5, 3, 1, 2],
  [8, 50, 300, 2],
  [9, 20, 70, 1],
  [33, 17, 65, 1],
  [130, 9, 67, 1],
  [64, 64, 64, 3],
  [129, 131, 200, 1],
  [70, 1100, 65, 1], // split-K: few tiles, long K
  [128, 1030, 128, 1], // split-K with an interior tile and a ragged last chunk
];

for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
  gpuTest(`matmul forward+backward vs oracle (transA=${transA}, transB=${transB})`, async (dev) => {
    for (const [M, K, N, batch] of SHAPES) {
      const a = f32(randomArray(batch * M * K, M + K));
      const b = f32(randomArray(batch * K * N, K + N));
      const w = f32(randomArray(batch * M * N, M + N + 1));
      const aShape = transA ? [batch, K, M] : [batch, M, K];
      const bShape = transB ? [batch, N, K] : [batch, K, N];
      const at = Tensor.fromArray(dev, a, aShape, { requiresGrad: true });
      const bt = Tensor.fromArray(dev, b, bShape, { requiresGrad: true });
      const wt = Tensor.fromArray(dev, w, [batch, M, N]);
      const c = ops.matmul(at, bt, { transA, transB }).retain();
      assert.deepEqual(c.shape, [batch, M, N]);
      ops.sum(ops.mul(c, wt)).backward();
      const what = `M=${M} K=${K} N=${N} batch=${batch}`;
      const tol = { atol: 1e-4 * Math.sqrt(K), rtol: 1e-4 };
      assertClose(await c.toArray(), ref.matmulForward(a, b, batch, M, K, N, transA, transB), {
        ...tol,
        what: `C ${what}`,
      });
      const { da, db } = ref.matmulBackward(a, b, w, batch, M, K, N, transA, transB);
      assertClose(await at.grad!.toArray(), da, { atol: 1e-4 * Math.sqrt(N), what: `dA ${what}` });
      assertClose(await bt.grad!.toArray(), db, { atol: 1e-4 * Math.sqrt(M), what: `dB ${what}` });
      for (const t of [at, bt, wt, c, at.grad!, bt.grad!]) t.release();
    }
  });
}

gpuTest("matmul with a shared right operand: folded and transposed-A broadcast", async (dev) => {
  const [batch, M, K, N] = [3, 5, 6, 7];
  for (const transA of [false, true]) {
    const a = f32(randomArray(batch * M * K, 11));
    const b = f32(randomArray(K * N, 12));
    const w = f32(randomArray(batch * M * N, 13));
    const at = Tensor.fromArray(dev, a, transA ? [batch, K, M] : [batch, M, K], {
      requiresGrad: true,
    });
    const bt = Tensor.fromArray(dev, b, [K, N], { requiresGrad: true });
    const c = ops.matmul(at, bt, { transA }).retain();
    ops.sum(ops.mul(c, Tensor.fromArray(dev, w, [batch, M, N]))).backward();
    const bRep = new Float64Array(batch * K * N).map((_, i) => b[i % (K * N)]);
    assertClose(await c.toArray(), ref.matmulForward(a, bRep, batch, M, K, N, transA, false));
    const { da, db } = ref.matmulBackward(a, bRep, w, batch, M, K, N, transA, false);
    assertClose(await at.grad!.toArray(), da);
    assertClose(await bt.grad!.toArray(), ref.sumToSize(db, K * N), { atol: 1e-4 });
  }
});

gpuTest("linear matches x·wᵀ + b with PyTorch's weight layout", async (dev) => {
  const [rows, inF, outF] = [37, 20, 9];
  const x = f32(randomArray(rows * inF, 21));
  const w = f32(randomArray(outF * inF, 22));
  const bias = f32(randomArray(outF, 23));
  const g = f32(randomArray(rows * outF, 24));
  const xt = Tensor.fromArray(dev, x, [1, rows, inF], { requiresGrad: true });
  const wt = Tensor.fromArray(dev, w, [outF, inF], { requiresGrad: true });
  const bt = Tensor.fromArray(dev, bias, [outF], { requiresGrad: true });
  const y = ops.linear(xt, wt, bt).retain();
  assert.deepEqual(y.shape, [1, rows, outF]);
  ops.sum(ops.mul(y, Tensor.fromArray(dev, g, [1, rows, outF]))).backward();
  const expected = ref.addForward(ref.matmulForward(x, w, 1, rows, inF, outF, false, true), bias);
  assertClose(await y.toArray(), expected);
  const { da, db } = ref.matmulBackward(x, w, g, 1, rows, inF, outF, false, true);
  assertClose(await xt.grad!.toArray(), da);
  assertClose(await wt.grad!.toArray(), db, { atol: 1e-4 });
  assertClose(await bt.grad!.toArray(), ref.sumToSize(g, outF), { atol: 1e-4 });
});

gpuTest("matmul errors name both shapes", async (dev) => {
  const a = Tensor.zeros(dev, [2, 3]);
  const b = Tensor.zeros(dev, [4, 5]);
  assert.throws(() => ops.matmul(a, b), /matmul: inner dimensions differ: \[2,3\] x \[4,5\]/);
  assert.throws(() => ops.linear(a, b), /linear: input \[2,3\] does not match weight \[4,5\]/);
  await dev.sync();
});

gpuTest("GPT-2-sized vocabulary: linear to 50,304 logits (few and many rows)", async (dev) => {
  const [inF, outF] = [16, 50304];
  const w = f32(randomArray(outF * inF, 31));
  const wt = Tensor.fromArray(dev, w, [outF, inF]);
  for (const rows of [3, 70]) {
    const x = f32(randomArray(rows * inF, 32 + rows));
    const y = ops.linear(Tensor.fromArray(dev, x, [rows, inF]), wt);
    const expected = ref.matmulForward(x, w, 1, rows, inF, outF, false, true);
    assertClose(await y.toArray(), expected, { atol: 1e-4, what: `rows=${rows}` });
  }
});

gpuTest("linear's fused bias and weight-gradient accumulation match the oracle", async (dev) => {
  // A parameter-like leaf already holding a gradient: backward adds into it in the epilogue.
  for (const rows of [1, 5, 70]) {
    const [inF, outF] = [36, 19];
    const x = f32(randomArray(rows * inF, 41 + rows));
    const w = f32(randomArray(outF * inF, 42));
    const bias = f32(randomArray(outF, 43));
    const g = f32(randomArray(rows * outF, 44));
    const w0 = f32(randomArray(outF * inF, 45));
    const xt = Tensor.fromArray(dev, x, rows === 1 ? [inF] : [rows, inF], { requiresGrad: true });
    const wt = Tensor.fromArray(dev, w, [outF, inF], { requiresGrad: true });
    wt.grad = Tensor.fromArray(dev, w0, [outF, inF]);
    const bt = Tensor.fromArray(dev, bias, [outF]);
    const y = ops.linear(xt, wt, bt).retain();
    assert.deepEqual(y.shape, rows === 1 ? [outF] : [rows, outF]);
    ops.sum(ops.mul(y, Tensor.fromArray(dev, g, y.shape))).backward();
    const what = `rows=${rows}`;
    const expected = ref.addForward(ref.matmulForward(x, w, 1, rows, inF, outF, false, true), bias);
    assertClose(await y.toArray(), expected, { what: `y ${what}` });
    const { da, db } = ref.matmulBackward(x, w, g, 1, rows, inF, outF, false, true);
    assertClose(await xt.grad!.toArray(), da, { what: `dx ${what}` });
    const accumulated = db.map((v, i) => v + w0[i]);
    assertClose(await wt.grad!.toArray(), accumulated, { atol: 1e-4, what: `dw ${what}` });
  }
});
