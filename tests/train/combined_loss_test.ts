import assert from "node:assert/strict";
import "../../src/data/sources_all.ts";
import { combinedLoss } from "../../src/train/combined_loss.ts";
import { readMetrics, type TrainLine } from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import * as ref from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { assertClose, f32, gpuTest, randomArray } from "../tensor/_helpers.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

/** Float64 oracle: (1 − w)·CE + w·(1 − mean p_target) and its analytic d/dlogits. */
function combinedReference(z: Float64Array, targets: number[], vocab: number, w: number) {
  const rows = targets.length;
  const count = targets.filter((t) => t !== -1).length;
  let ce = 0;
  let meanP = 0;
  const grad = new Float64Array(z.length);
  for (let i = 0; i < rows; i++) {
    const t = targets[i];
    if (t === -1) continue;
    const row = z.subarray(i * vocab, (i + 1) * vocab);
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    ce += -Math.log(p[t]) / count;
    meanP += p[t] / count;
    for (let j = 0; j < vocab; j++) {
      const delta = j === t ? 1 : 0;
      const dCe = (p[j] - delta) / count;
      const dAcc = -(p[t] * (delta - p[j])) / count;
      grad[i * vocab + j] = (1 - w) * dCe + w * dAcc;
    }
  }
  const acc = count > 0 ? 1 - meanP : 0;
  return { loss: (1 - w) * ce + w * acc, ce, acc, grad };
}

Deno.test("oracle: combined-loss gradient matches finite differences", () => {
  const [vocab, targets] = [5, [3, -1, 0, 4]];
  const z = randomArray(targets.length * vocab, 11, -2, 2);
  for (const w of [0, 0.5, 1]) {
    const f = (x: Float64Array) => combinedReference(x, targets, vocab, w).loss;
    const { grad } = combinedReference(z, targets, vocab, w);
    assertClose(grad, ref.numericGradient(f, z), { atol: 1e-8, rtol: 1e-6, what: `w=${w}` });
  }
});

gpuTest("combinedLoss: loss, parts and d/dlogits match the float64 oracle", async (dev) => {
  const [vocab, targets] = [7, [6, -1, 0, 2, -1, 3]];
  for (const w of [0.5, 1, 0.25]) {
    const z = f32(randomArray(targets.length * vocab, 3 + w * 8, -3, 3));
    const x = Tensor.fromArray(dev, z, [targets.length, vocab], { requiresGrad: true });
    const t = Tensor.fromArray(dev, targets, [targets.length], { dtype: "i32" });
    const parts = combinedLoss(x, t, Int32Array.from(targets), w);
    for (const p of [parts.loss, parts.ce, parts.acc]) p.retain();
    parts.loss.backward();
    const want = combinedReference(z, targets, vocab, w);
    const got = [await parts.loss.item(), await parts.ce.item(), await parts.acc.item()];
    assertClose(got, [want.loss, want.ce, want.acc], { atol: 1e-6, rtol: 1e-5, what: `w=${w}` });
    assertClose(await x.grad!.toArray(), want.grad, {
      atol: 1e-7,
      rtol: 1e-4,
      what: `grad w=${w}`,
    });
    for (const r of [x, t, parts.loss, parts.ce, parts.acc, x.grad!]) r.release();
  }
});

Deno.test("training.loss.accuracy_weight outside [0, 1] is an error naming the key", () => {
  for (const bad of ["1.5", "-0.1"]) {
    assert.throws(
      () => tinyConfig([`training.loss.accuracy_weight=${bad}`]),
      (e: Error) => e instanceof UserError && /training\.loss\.accuracy_weight/.test(e.message),
    );
  }
});

const gpu = await hasWebGpuAdapter();
const short = ["training.max_steps=6", "training.eval_every=0", "training.checkpoint_every=0"];
const trainLines = (lines: { type: string }[]) =>
  lines.filter((l): l is TrainLine => l.type === "train");

testNeeding(
  "a WebGPU adapter",
  gpu,
  "combined loss: w = 0 is the plain run bit for bit; w = 0.5 logs both parts",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const run = async (extra: string[]) => {
        const r = await train(tinyConfig([...short, ...extra]), {
          runsRoot: root,
          device: dev,
          progress: false,
        });
        assert.equal(r.status, "finished");
        return trainLines(await readMetrics(r.dir));
      };
      const plain = await run([]);
      const zero = await run(["training.loss.accuracy_weight=0"]);
      assert.deepEqual(zero.map((l) => l.loss), plain.map((l) => l.loss));
      assert.equal(zero[0].loss_ce, undefined);
      const mixed = await run(["training.loss.accuracy_weight=0.5"]);
      assert.equal(mixed.length, 6);
      assert.equal(new Set(mixed.map((l) => l.gpu_bytes)).size, 1, "no tensor left behind");
      // Step 1 starts from the same weights and batch: its CE part is the plain run's loss.
      assertClose([mixed[0].loss_ce as number], [plain[0].loss], { atol: 1e-6, rtol: 1e-6 });
      for (const l of mixed) {
        const [ce, acc] = [l.loss_ce as number, l.loss_acc as number];
        assert.ok(acc > 0 && acc < 1, `loss_acc in (0, 1): ${acc}`);
        assertClose([l.loss], [0.5 * ce + 0.5 * acc], { atol: 1e-5, rtol: 1e-5 });
      }
      // Later steps differ: the gradient is not the CE gradient.
      assert.notEqual(mixed[5].loss_ce, plain[5].loss);
    });
  },
);
