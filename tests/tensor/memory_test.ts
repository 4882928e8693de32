import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { ParameterSet } from "../../src/tensor/parameters.ts";
import { noGrad, type Tensor, Tensor as T, tidy } from "../../src/tensor/tensor.ts";
import { gpuTest, randomArray } from "./_helpers.ts";

/** A tiny transformer-ish block using every core op; returns the scalar loss. */
function forward(params: ParameterSet, ids: Tensor, train: boolean): Tensor {
  const p = (name: string) => params.tensors.get(name)!;
  const [B, T, C, H] = [2, 5, 8, 2];
  let x = ops.embedding(ids, p("wte")); // [B,T,C]
  x = ops.layerNorm(x, p("ln.w"), p("ln.b"));
  const heads = ops.splitHeads(ops.linear(x, p("fc.w"), p("fc.b")), H); // [B,H,T,C/H]
  const scores = ops.softmax(ops.matmul(heads, heads, { transB: true })); // [B,H,T,T]
  const mixed = ops.mergeHeads(ops.matmul(scores, heads)); // [B,T,C]
  const h = ops.dropout(ops.gelu(ops.mul(mixed, p("gain"))), train ? 0.1 : 0, 7);
  const out = ops.add(ops.scale(h, 0.5), x).reshape([B * T, C]);
  return ops.mean(out);
}

gpuTest(
  "a training step frees every intermediate: bytesInUse returns to its baseline",
  async (dev) => {
    const C = 8;
    const spec = (name: string, shape: number[], seed: number) => ({
      name,
      shape,
      init: Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), seed)),
      decay: true,
    });
    const params = new ParameterSet(dev, [
      spec("wte", [11, C], 1),
      spec("ln.w", [C], 2),
      spec("ln.b", [C], 3),
      spec("fc.w", [C, C], 4),
      spec("fc.b", [C], 5),
      spec("gain", [C], 6),
    ]);
    const ids = T.fromArray(dev, Int32Array.from({ length: 10 }, (_, i) => (i * 3) % 11), [2, 5], {
      dtype: "i32",
    });
    const baseline = dev.bytesInUse();
    for (let step = 0; step < 3; step++) {
      params.zeroGrad();
      const loss = forward(params, ids, true);
      loss.backward();
      assert.ok(Number.isFinite(await loss.item()));
      loss.release();
      assert.equal(dev.bytesInUse(), baseline, `step ${step} leaked`);
    }
    const evalLoss = tidy(() => noGrad(() => forward(params, ids, false)));
    assert.ok(Number.isFinite(await evalLoss.item()));
    evalLoss.release();
    assert.equal(dev.bytesInUse(), baseline, "tidy frees the evaluation's intermediates");
    const grads = await params.readGrads();
    assert.ok(
      [...grads.values()].every((g) => g.some((v) => v !== 0)),
      "every parameter got a gradient",
    );
  },
);
