import assert from "node:assert/strict";
import "../../src/data/sources_all.ts";
import { percentile } from "../../src/train/clipping.ts";
import { readMetrics, type TrainLine } from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

Deno.test("percentile interpolates linearly like numpy.percentile", () => {
  // numpy.percentile([1, 2, 3, 4], 10) = 1.3; ([3, 1, 2], 50) = 2; ([7], 90) = 7.
  assert.ok(Math.abs(percentile([4, 1, 3, 2], 10) - 1.3) < 1e-12);
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.equal(percentile([7], 90), 7);
  assert.equal(percentile([1, 2, 3, 4, 5], 100), 5);
  assert.equal(percentile([10, 20], 25), 12.5);
});

Deno.test("training.clip: a bad mode or percentile is an error naming the key", () => {
  const cases: [string, RegExp][] = [
    ["training.clip.mode=auto", /training\.clip\.mode/],
    ["training.clip.percentile=0", /training\.clip\.percentile/],
    ["training.clip.history=0", /training\.clip\.history/],
  ];
  for (const [override, key] of cases) {
    assert.throws(
      () => tinyConfig([override]),
      (e: Error) => e instanceof UserError && key.test(e.message),
      override,
    );
  }
});

const gpu = await hasWebGpuAdapter();
const adaptive = [
  "training.max_steps=12",
  "training.eval_every=0",
  "training.checkpoint_every=0",
  "training.clip.mode=adaptive",
  "training.clip.percentile=25",
  "training.clip.history=5",
];
const trainLines = (lines: { type: string }[]) =>
  lines.filter((l): l is TrainLine => l.type === "train");

testNeeding(
  "a WebGPU adapter",
  gpu,
  "adaptive clipping: clip = percentile of the last norms; stop + resume = straight run",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig(adaptive);
      const straight = await train(cfg, { runsRoot: root, device: dev, progress: false });
      assert.equal(straight.status, "finished");
      const lines = trainLines(await readMetrics(straight.dir));
      assert.equal(lines.length, 12);
      const norms = lines.map((l) => l.grad_norm!);
      lines.forEach((l, i) => {
        // The logged norm is the pre-clip norm of the same step: the history is the last 5 of them.
        const want = percentile(norms.slice(Math.max(0, i - 4), i + 1), 25);
        assert.equal(l.clip, want, `step ${l.step}`);
      });
      assert.ok(lines.some((l) => l.clip! < l.grad_norm!), "some steps are clipped");

      const fixed = trainLines(
        await readMetrics(
          (await train(tinyConfig(adaptive.slice(0, 3)), {
            runsRoot: root,
            device: dev,
            progress: false,
          })).dir,
        ),
      );
      assert.equal(fixed[0].clip, undefined);
      assert.notDeepEqual(fixed.map((l) => l.loss), lines.map((l) => l.loss));

      const stop = new AbortController();
      const half = await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        signal: stop.signal,
        onStep: (step) => step === 7 && stop.abort(),
      });
      assert.equal(half.steps, 7);
      const resumed = await train(cfg, { runsRoot: root, device: dev, resume: half.dir });
      assert.equal(resumed.status, "finished");
      const again = trainLines(await readMetrics(half.dir));
      assert.deepEqual(again.map((l) => [l.loss, l.clip]), lines.map((l) => [l.loss, l.clip]));
    });
  },
);
