import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { bucketRows } from "../../src/tensor/ops/embedding.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

gpuTest("embedding forward+backward vs oracle with many repeated ids", async (dev) => {
  for (const [vocab, cols, rows] of [[1, 1, 1], [5, 3, 37], [65, 16, 600], [1000, 7, 3]]) {
    const ids = Int32Array.from(randomArray(rows, vocab + rows, 0, vocab), Math.floor);
    const table = f32(randomArray(vocab * cols, vocab));
    const g = f32(randomArray(rows * cols, cols));
    const idt = Tensor.fromArray(dev, ids, [rows], { dtype: "i32" });
    const tt = Tensor.fromArray(dev, table, [vocab, cols], { requiresGrad: true });
    const y = ops.embedding(idt, tt).retain();
    assert.deepEqual(y.shape, [rows, cols]);
    ops.sum(ops.mul(y, Tensor.fromArray(dev, g, [rows, cols]))).backward();
    assertClose(await y.toArray(), ref.embeddingForward(ids, table, cols), { atol: 0 });
    assertClose(await tt.grad!.toArray(), ref.embeddingBackward(ids, g, vocab, cols), {
      atol: 1e-5,
      what: `dtable V=${vocab} C=${cols} rows=${rows}`,
    });
  }
});

gpuTest("embedding backward is bit-identical run to run; bad ids give zeros", async (dev) => {
  const [vocab, cols, rows] = [4, 8, 2000];
  const ids = Int32Array.from({ length: rows }, (_, i) => (i * 7) % vocab);
  ids[5] = -1;
  ids[6] = vocab;
  const table = Tensor.fromArray(dev, f32(randomArray(vocab * cols, 1)), [vocab, cols], {
    requiresGrad: true,
  });
  const idt = Tensor.fromArray(dev, ids, [2, rows / 2], { dtype: "i32" });
  const g = Tensor.fromArray(dev, f32(randomArray(rows * cols, 2, -1e3, 1e3)), [2, rows / 2, cols]);
  const run = async () => {
    table.grad = null;
    ops.sum(ops.mul(ops.embedding(idt, table), g)).backward();
    return Array.from(await table.grad!.toArray());
  };
  const first = await run();
  for (let i = 0; i < 3; i++) assert.deepEqual(await run(), first);
  const y = await ops.embedding(idt, table).toArray();
  assert.deepEqual(Array.from(y.slice(5 * cols, 7 * cols)), new Array(2 * cols).fill(0));
});

Deno.test("oracle: embedding table gradient matches finite differences", () => {
  const [vocab, cols] = [4, 3];
  const ids = [2, 0, 2, 3, 2];
  const table = randomArray(vocab * cols, 1);
  const g = randomArray(ids.length * cols, 2);
  const f = (t: Float64Array) =>
    ref.embeddingForward(ids, t, cols).reduce((s, v, i) => s + v * g[i], 0);
  assertClose(ref.embeddingBackward(ids, g, vocab, cols), ref.numericGradient(f, table), {
    atol: 1e-7,
  });
});

gpuTest("embedding over a 50,304-token vocabulary", async (dev) => {
  const [vocab, cols] = [50304, 4];
  const ids = Int32Array.from([50303, 0, 50303, 12345, 7]);
  const table = f32(randomArray(vocab * cols, 3));
  const tt = Tensor.fromArray(dev, table, [vocab, cols], { requiresGrad: true });
  const g = f32(randomArray(ids.length * cols, 4));
  const y = ops.embedding(Tensor.fromArray(dev, ids, [ids.length], { dtype: "i32" }), tt).retain();
  ops.sum(ops.mul(y, Tensor.fromArray(dev, g, [ids.length, cols]))).backward();
  assertClose(await y.toArray(), ref.embeddingForward(ids, table, cols), { atol: 0 });
  assertClose(await tt.grad!.toArray(), ref.embeddingBackward(ids, g, vocab, cols), { atol: 1e-6 });
});

Deno.test("bucketRows groups rows by id, ids and rows ascending, bad ids dropped", () => {
  const { buckets, unique } = bucketRows([3, 1, 3, -1, 9, 1, 3], 5);
  assert.equal(unique, 2);
  // starts [0, 2, 5], ids [1, 3], rows [1, 5 | 0, 2, 6]
  assert.deepEqual(Array.from(buckets), [0, 2, 5, 1, 3, 1, 5, 0, 2, 6]);
  assert.deepEqual(Array.from(bucketRows([], 4).buckets), [0]);
});

gpuTest("host-bucketed and GPU-sorted embedding backward give the same bits", async (dev) => {
  const [vocab, cols, rows] = [70, 9, 1500];
  const ids = Int32Array.from(randomArray(rows, 3, -2, vocab + 2), Math.floor);
  const hostIds = Tensor.fromArray(dev, ids, [rows], { dtype: "i32" });
  const gpuIds = hostIds.clone(); // made by a copy on the GPU: no host values
  assert.ok(hostIds.hostValues !== null && gpuIds.hostValues === null);
  const gv = f32(randomArray(rows * cols, 4, -10, 10));
  const g = Tensor.fromArray(dev, gv, [rows, cols]);
  const grads: Float32Array[] = [];
  for (const idt of [hostIds, gpuIds]) {
    const table = Tensor.fromArray(dev, f32(randomArray(vocab * cols, 5)), [vocab, cols], {
      requiresGrad: true,
    });
    ops.sum(ops.mul(ops.embedding(idt, table), g)).backward();
    grads.push(await table.grad!.toArray() as Float32Array);
  }
  assert.deepEqual(grads[0], grads[1]);
  assertClose(grads[0], ref.embeddingBackward(ids, gv, vocab, cols), {
    atol: 1e-4,
  });
});
