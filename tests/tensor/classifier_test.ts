import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import * as ref from "../../src/tensor/reference.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { hasPyTorch, testNeeding } from "../_support/env.ts";
import { pythonJson } from "../_support/python.ts";
import { assertClose, f32, gpuTest, randomArray, testDevice } from "./_helpers.ts";

Deno.test("oracle: cross-entropy gradient matches finite differences", () => {
  const [rows, vocab] = [4, 6];
  const logits = randomArray(rows * vocab, 1, -3, 3);
  const targets = [2, -1, 5, 0];
  const f = (x: Float64Array) => ref.crossEntropyReference(x, targets, vocab).loss;
  const { dlogits } = ref.crossEntropyReference(logits, targets, vocab);
  assertClose(dlogits, ref.numericGradient(f, logits), { atol: 1e-8, rtol: 1e-6 });
  // Uniform logits: the loss is ln V whatever the target.
  const flat = ref.crossEntropyReference(new Float64Array(12), [0, 3], 6).loss;
  assertClose([flat], [Math.log(6)], { atol: 1e-15, rtol: 0 });
});

/** GPU loss and dlogits against the oracle, the gradient scaled by a non-unit upstream grad. */
async function checkClassifier(
  rows: number,
  vocab: number,
  targets: number[],
  seed: number,
  spread = 4,
): Promise<void> {
  const dev = await testDevice();
  const logits = f32(randomArray(rows * vocab, seed, -spread, spread));
  const x = Tensor.fromArray(dev, logits, [rows, vocab], { requiresGrad: true });
  const t = Tensor.fromArray(dev, targets, [rows], { dtype: "i32" });
  const loss = ops.crossEntropy(x, t).retain();
  // d(0.5·loss)/d(logits) checks that backward scales by the incoming gradient.
  ops.scale(loss, 0.5).backward();
  const expected = ref.crossEntropyReference(logits, targets, vocab);
  const what = `rows=${rows} V=${vocab}`;
  assertClose([await loss.item()], [expected.loss], { atol: 1e-5, rtol: 1e-5, what });
  const half = expected.dlogits.map((g) => 0.5 * g);
  assertClose(await x.grad!.toArray(), half, { atol: 1e-8, rtol: 1e-4, what: `grad ${what}` });
  for (const z of [x, t, loss, x.grad!]) z.release();
}

gpuTest("crossEntropy matches the oracle on small and odd vocabularies", async () => {
  await checkClassifier(1, 1, [0], 1);
  await checkClassifier(3, 5, [4, 0, 2], 2);
  await checkClassifier(7, 65, [1, -1, 64, 3, -1, 0, 10], 3);
  await checkClassifier(5, 1000, [999, 0, -1, 500, 7], 4, 30);
});

gpuTest("crossEntropy at V = 50,304 with ignored targets", async () => {
  await checkClassifier(6, 50304, [50303, -1, 0, 12345, -1, 777], 5, 8);
});

gpuTest("crossEntropy: every target ignored gives 0; a bad target gives NaN", async (dev) => {
  const x = Tensor.fromArray(dev, f32(randomArray(8, 6)), [2, 4], { requiresGrad: true });
  const none = Tensor.fromArray(dev, [-1, -1], [2], { dtype: "i32" });
  const loss = ops.crossEntropy(x, none).retain();
  loss.backward();
  assert.equal(await loss.item(), 0);
  assert.deepEqual(Array.from(await x.grad!.toArray()), new Array(8).fill(0));
  const bad = Tensor.fromArray(dev, [1, 9], [2], { dtype: "i32" });
  assert.ok(Number.isNaN(await noGrad(() => ops.crossEntropy(x, bad)).item()));
  const pad = Tensor.fromArray(dev, [1, 3], [2], { dtype: "i32" });
  const ignore3 = await noGrad(() => ops.crossEntropy(x, pad, { ignoreIndex: 3 })).item();
  const logits = await x.toArray();
  assertClose([ignore3], [ref.crossEntropyReference(logits, [1, 3], 4, 3).loss], {
    atol: 1e-6,
    rtol: 1e-6,
  });
});

gpuTest("crossEntropy rejects bad shapes and dtypes", (dev) => {
  const x = Tensor.zeros(dev, [3, 4]);
  const t2 = Tensor.zeros(dev, [2], { dtype: "i32" });
  const tf = Tensor.zeros(dev, [3]);
  assert.throws(() => ops.crossEntropy(x, t2), /logits must be \[N,V\] and targets \[N\]/);
  assert.throws(() => ops.crossEntropy(x, tf), /targets must be i32/);
  for (const t of [x, t2, tf]) t.release();
});

const torchPresent = await hasPyTorch();
testNeeding("PyTorch", torchPresent, "crossEntropy agrees with torch.nn.functional", async () => {
  const dev = await testDevice();
  const [rows, vocab] = [5, 300];
  const logits = f32(randomArray(rows * vocab, 9, -6, 6));
  const targets = [3, -100, 299, 0, -100];
  const script = `
import json, sys, torch
d = json.load(sys.stdin)
x = torch.tensor(d["x"], dtype=torch.float64).reshape(${rows}, ${vocab}).requires_grad_()
loss = torch.nn.functional.cross_entropy(x, torch.tensor(d["t"]), ignore_index=-100)
loss.backward()
print(json.dumps({"loss": loss.item(), "grad": x.grad.flatten().tolist()}))
`;
  const torch = await pythonJson<{ loss: number; grad: number[] }>(script, {
    x: [...logits],
    t: targets,
  });
  const x = Tensor.fromArray(dev, logits, [rows, vocab], { requiresGrad: true });
  const t = Tensor.fromArray(dev, targets, [rows], { dtype: "i32" });
  const loss = ops.crossEntropy(x, t, { ignoreIndex: -100 }).retain();
  loss.backward();
  assertClose([await loss.item()], [torch.loss], { atol: 1e-5, rtol: 1e-5, what: "loss" });
  assertClose(await x.grad!.toArray(), torch.grad, { atol: 1e-7, rtol: 1e-4, what: "grad" });
  for (const z of [x, t, loss, x.grad!]) z.release();
});
