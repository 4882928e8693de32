import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

/** Each unary op with its parameters and an input range where it is defined. */
const UNARY: { op: ref.UnaryOpName; p0?: number; p1?: number; lo: number; hi: number }[] = [
  { op: "relu", lo: -3, hi: 3 },
  { op: "abs", lo: -3, hi: 3 },
  { op: "clamp", p0: -0.3, p1: 0.5, lo: -2, hi: 2 },
  { op: "exp", lo: -4, hi: 4 },
  { op: "log", lo: 0.05, hi: 5 },
  { op: "sqrt", lo: 0.05, hi: 5 },
  { op: "sigmoid", lo: -8, hi: 8 },
  { op: "tanh", lo: -4, hi: 4 },
  { op: "silu", lo: -6, hi: 6 },
  { op: "pow", p0: 3, lo: -2, hi: 2 },
  { op: "pow", p0: -2, lo: -2, hi: -0.2 },
  { op: "pow", p0: 0.5, lo: 0.05, hi: 4 },
];

function applyUnary(x: Tensor, u: (typeof UNARY)[number]): Tensor {
  switch (u.op) {
    case "clamp":
      return ops.clamp(x, u.p0, u.p1);
    case "pow":
      return ops.pow(x, u.p0!);
    default:
      return ops[u.op](x);
  }
}

Deno.test("oracle: unary gradients match finite differences", () => {
  for (const u of UNARY) {
    const x = randomArray(30, 11, u.lo, u.hi);
    const w = randomArray(30, 12);
    const f = (v: Float64Array) =>
      ref.unaryReference(u.op, v, u.p0, u.p1).reduce((s, y, i) => s + y * w[i], 0);
    assertClose(ref.unaryGradReference(u.op, x, w, u.p0, u.p1), ref.numericGradient(f, x), {
      atol: 1e-6,
      rtol: 1e-5,
      what: `d${u.op}`,
    });
  }
});

Deno.test("oracle: maximum/minimum and where gradients match finite differences", () => {
  const a = randomArray(21, 13);
  const b = randomArray(7, 14); // broadcast over a
  const g = randomArray(21, 15);
  for (const op of ["maximum", "minimum"] as const) {
    const f = (u: Float64Array, v: Float64Array) =>
      ref.binaryReference(op, u, v, 21).reduce((s, y, i) => s + y * g[i], 0);
    const { da, db } = ref.extremumGradReference(op, a, b, g);
    assertClose(da, ref.numericGradient((u) => f(u, b), a), { atol: 1e-6, what: `${op} da` });
    assertClose(db, ref.numericGradient((v) => f(a, v), b), { atol: 1e-6, what: `${op} db` });
  }
  const mask = Float64Array.from(randomArray(7, 16), (v) => Number(v > 0));
  const f = (u: Float64Array, v: Float64Array) =>
    ref.whereReference(mask, u, v, 21).reduce((s, y, i) => s + y * g[i], 0);
  const { da, db } = ref.whereGradReference(mask, g, 21, 7);
  assertClose(da, ref.numericGradient((u) => f(u, b), a), { atol: 1e-6, what: "where da" });
  assertClose(db, ref.numericGradient((v) => f(a, v), b), { atol: 1e-6, what: "where db" });
});

gpuTest("unary ops forward and backward match the float64 oracle", async (dev) => {
  for (const n of [1, 7, 33, 257, 4099]) {
    for (const u of UNARY) {
      const x = f32(randomArray(n, n + 1, u.lo, u.hi));
      const w = f32(randomArray(n, n + 2));
      const xt = Tensor.fromArray(dev, x, [n], { requiresGrad: true });
      const wt = Tensor.fromArray(dev, w, [n]);
      const y = applyUnary(xt, u).retain();
      ops.sum(ops.mul(y, wt)).backward();
      const what = `${u.op}(${u.p0 ?? ""}) n=${n}`;
      assertClose(await y.toArray(), ref.unaryReference(u.op, x, u.p0, u.p1), { what });
      const dx = ref.unaryGradReference(u.op, x, w, u.p0, u.p1);
      assertClose(await xt.grad!.toArray(), dx, { what: `d ${what}` });
      for (const t of [xt, wt, y, xt.grad!]) t.release();
    }
  }
});

gpuTest("kinks follow PyTorch: relu'(0)=0, |x|'(0)=0, clamp bounds pass, x^0", async (dev) => {
  const x = Tensor.fromArray(dev, [-1, 0, 0.5, 1, 2], [5], { requiresGrad: true });
  const grad = async (f: (t: Tensor) => Tensor) => {
    x.grad?.release();
    x.grad = null;
    ops.sum(f(x)).backward();
    return Array.from(await x.grad!.toArray());
  };
  assert.deepEqual(await grad(ops.relu), [0, 0, 1, 1, 1]);
  assert.deepEqual(await grad(ops.abs), [-1, 0, 1, 1, 1]);
  assert.deepEqual(await grad((t) => ops.clamp(t, 0, 1)), [0, 1, 1, 1, 0]);
  assert.deepEqual(await grad((t) => ops.clamp(t, null, 0.5)), [1, 1, 1, 0, 0]);
  assert.deepEqual(await grad((t) => ops.pow(t, 0)), [0, 0, 0, 0, 0]);
  assert.deepEqual(await grad((t) => ops.pow(t, 2)), [-2, 0, 1, 2, 4]);
  const y = noGrad(() => ops.pow(x, 3));
  assert.deepEqual(Array.from(await y.toArray()), [-1, 0, 0.125, 1, 8]);
  const big = Tensor.fromArray(dev, [-1e4, -100, 100, 1e4], [4]);
  assert.deepEqual(Array.from(await noGrad(() => ops.sigmoid(big)).toArray()), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(await noGrad(() => ops.tanh(big)).toArray()), [-1, -1, 1, 1]);
  assert.throws(() => ops.clamp(x, 2, 1), /min ≤ max/);
});

gpuTest("maximum, minimum and comparisons broadcast either side; ties split", async (dev) => {
  // Quarter steps make exact ties between a and b common.
  const a = Float64Array.from(randomArray(3 * 7 * 33, 21, -2, 2), (v) => Math.round(v * 4) / 4);
  const b = Float64Array.from(randomArray(7 * 33, 22, -2, 2), (v) => Math.round(v * 4) / 4);
  const n = a.length;
  const g = f32(randomArray(n, 23));
  const tiled = Float64Array.from(a, (_, i) => b[i % b.length]);
  const cases: [string, Float64Array, number[], Float64Array, number[]][] = [
    ["big, small", a, [3, 7, 33], b, [7, 33]],
    ["small, big", b, [7, 33], a, [3, 7, 33]],
    ["same", a, [3, 7, 33], tiled, [3, 7, 33]],
  ];
  for (const [name, av, sa, bFull, sb] of cases) {
    const at = Tensor.fromArray(dev, av, sa, { requiresGrad: true });
    const bt = Tensor.fromArray(dev, bFull, sb, { requiresGrad: true });
    const gt = Tensor.fromArray(dev, g, [3, 7, 33]);
    for (const op of ["maximum", "minimum"] as const) {
      at.grad = null;
      bt.grad = null;
      const y = ops[op](at, bt).retain();
      assert.deepEqual(y.shape, [3, 7, 33]);
      ops.sum(ops.mul(y, gt)).backward();
      assertClose(await y.toArray(), ref.binaryReference(op, av, bFull, n), { what: op });
      const { da, db } = ref.extremumGradReference(op, av, bFull, g);
      assertClose(await at.grad!.toArray(), da, { what: `${op} da (${name})` });
      assertClose(await bt.grad!.toArray(), db, { what: `${op} db (${name})` });
    }
    for (const op of ["eq", "lt", "gt"] as const) {
      const m = ops[op](at, bt);
      assert.equal(m.requiresGrad, false, `${op} has no gradient`);
      assert.deepEqual(
        Array.from(await m.toArray()),
        Array.from(ref.binaryReference(op, av, bFull, n)),
      );
    }
  }
  const x = Tensor.fromArray(dev, [-1, 0, 2], [3], { requiresGrad: true });
  ops.sum(ops.maximum(x, 0)).backward();
  assert.deepEqual(Array.from(await x.grad!.toArray()), [0, 0.5, 1], "a tie with a number");
  assert.deepEqual(Array.from(await ops.lt(x, 0.5).toArray()), [1, 1, 0]);
  assert.throws(() => ops.maximum(x, Tensor.zeros(dev, [2])), /cannot broadcast \[3\] and \[2\]/);
});

gpuTest("where picks per element, broadcasts, and routes gradients", async (dev) => {
  const [rows, cols] = [5, 33];
  const maskv = Float64Array.from(randomArray(cols, 31), (v) => Number(v > 0));
  const a = f32(randomArray(rows * cols, 32));
  const b = f32(randomArray(cols, 33));
  const g = f32(randomArray(rows * cols, 34));
  const mask = Tensor.fromArray(dev, maskv, [cols]);
  const at = Tensor.fromArray(dev, a, [rows, cols], { requiresGrad: true });
  const bt = Tensor.fromArray(dev, b, [cols], { requiresGrad: true });
  const gt = Tensor.fromArray(dev, g, [rows, cols]);
  const y = ops.where(mask, at, bt).retain();
  ops.sum(ops.mul(y, gt)).backward();
  assertClose(await y.toArray(), ref.whereReference(maskv, a, b, rows * cols));
  const { da, db } = ref.whereGradReference(maskv, g, a.length, b.length);
  assertClose(await at.grad!.toArray(), da, { what: "where da" });
  assertClose(await bt.grad!.toArray(), db, { what: "where db" });
  // A number on either side, and a relu made of where and gt.
  const x = Tensor.fromArray(dev, [-2, -0.5, 0, 3], [4], { requiresGrad: true });
  const r = ops.where(ops.gt(x, 0), x, 0).retain();
  ops.sum(r).backward();
  assert.deepEqual(Array.from(await r.toArray()), [0, 0, 0, 3]);
  assert.deepEqual(Array.from(await x.grad!.toArray()), [0, 0, 0, 1]);
  const s = noGrad(() => ops.where(ops.lt(x, 0), -1, 1));
  assert.deepEqual(Array.from(await s.toArray()), [-1, -1, 1, 1]);
});

gpuTest(
  "backward frees every intermediate of the new ops (saved indices included)",
  async (dev) => {
    const x = Tensor.fromArray(dev, randomArray(7 * 33, 41), [7, 33], { requiresGrad: true });
    const b = Tensor.fromArray(dev, randomArray(33, 42), [33], { requiresGrad: true });
    await dev.sync();
    const before = dev.bytesInUse();
    const mask = ops.gt(x, 0); // a mask has no gradient node: its owner releases it
    const h = ops.where(mask, ops.silu(ops.maximum(x, b)), ops.pow(ops.clamp(x, -0.5), 2));
    const rows = ops.concat(
      [ops.max(h, 1, { keepdim: true }), ops.mean(h, 1, { keepdim: true })],
      1,
    );
    const loss = ops.sum(
      ops.transpose(ops.slice(ops.relu(ops.sum(rows, 0, { keepdim: true })), 1, 1)),
    );
    loss.backward();
    loss.release();
    mask.release();
    for (const t of [x, b]) {
      t.grad!.release();
      t.grad = null;
    }
    assert.equal(dev.bytesInUse(), before);
    // Without the tape the saved max indices are freed at once.
    const m = noGrad(() => ops.max(x, 0));
    m.release();
    assert.equal(dev.bytesInUse(), before);
  },
);

gpuTest("comparisons take i32 token ids; other ops name the dtype they need", async (dev) => {
  const ids = Tensor.fromArray(dev, [3, 10, 70000, -1, 10, 9], [2, 3], { dtype: "i32" });
  assert.deepEqual(Array.from(await ops.eq(ids, 10).toArray()), [0, 1, 0, 0, 1, 0]);
  assert.deepEqual(Array.from(await ops.gt(ids, 9).toArray()), [0, 1, 1, 0, 1, 0]);
  const row = Tensor.fromArray(dev, [3, 11, 70001], [3], { dtype: "i32" });
  assert.deepEqual(Array.from(await ops.lt(ids, row).toArray()), [0, 1, 1, 1, 1, 1]);
  assert.throws(() => ops.eq(ids, 0.5), /integers only/);
  assert.throws(() => ops.eq(ids, Tensor.zeros(dev, [3])), /operands are i32 and f32/);
  assert.throws(() => ops.relu(ids), /relu: input must be f32, got i32/);
  assert.throws(() => ops.maximum(ids, 1), /maximum: input must be f32, got i32/);
  assert.throws(() => ops.sum(ids, 0), /sum: input must be f32/);
  assert.throws(() => ops.slice(ids, 0, 1), /slice: input must be f32/);
});
