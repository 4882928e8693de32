import assert from "node:assert/strict";
import "../../src/data/sources_all.ts";
import { Block, type ForwardContext, GPT } from "../../src/nn/gpt.ts";
import type { ResolvedConfig } from "../../src/nn/gpt_config.ts";
import type { ParamBuilder } from "../../src/nn/params.ts";
import { registerModel } from "../../src/nn/registry.ts";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, Tensor, untracked } from "../../src/tensor/tensor.ts";
import { formatBytes, LEAK_STEPS, LeakDetector } from "../../src/train/leak.ts";
import { type EventLine, readMetrics } from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

const gpu = await hasWebGpuAdapter();

Deno.test("LeakDetector: reports once after N growing steps, with the growth per step", () => {
  const leaks = new LeakDetector(3);
  assert.equal(leaks.observe(1, 1000), null);
  assert.equal(leaks.observe(2, 1000), null, "flat is not a leak");
  assert.equal(leaks.observe(3, 1100), null);
  assert.equal(leaks.observe(4, 1000), null, "a drop resets the streak");
  assert.equal(leaks.observe(5, 4328), null);
  assert.equal(leaks.observe(6, 7656), null);
  const detail = leaks.observe(7, 10984);
  assert.match(
    detail!,
    /^gpu_bytes grew for 3 consecutive steps by 3,328 B per step \(1,000 B at step 4/,
  );
  assert.equal(leaks.observe(8, 14312), null, "reported once");
  assert.equal(formatBytes(1234567), "1,234,567 B");
});

/** A block that gates its input with a constant made under noGrad: a temporary of every step. */
class NoGradTemporaryBlock extends Block {
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    const gate = noGrad(() => ops.sigmoid(ops.scale(x, 0)));
    return super.forward(ops.mul(x, ops.scale(gate, 2)), ctx);
  }
}

/** A block that keeps one tensor per forward forever (outside every scope): a real leak. */
const hoard: Tensor[] = [];
class HoardingBlock extends Block {
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    if (ctx.layer === 0) hoard.push(untracked(() => Tensor.zeros(x.device, [512])));
    return super.forward(x, ctx);
  }
}

function gptWith(block: typeof Block) {
  return class extends GPT {
    protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
      return new block(pb, prefix, cfg);
    }
  };
}

const STEPS = [
  `training.max_steps=${LEAK_STEPS + 3}`,
  "training.eval_every=0",
  "training.checkpoint_every=0",
];

testNeeding(
  "a WebGPU adapter",
  gpu,
  "training: noGrad temporaries of a forward are freed with the step; a real leak is an event",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const NoGradGPT = gptWith(NoGradTemporaryBlock);
      registerModel("leak_test_nograd", (d, c, o) => new NoGradGPT(d, c, o));
      const cfg = tinyConfig(STEPS);
      cfg.model.name = "leak_test_nograd";
      const clean = await train(cfg, { runsRoot: root, device: dev, progress: false });
      const lines = await readMetrics(clean.dir);
      const bytes = lines.filter((l) => l.type === "train").map((l) => l.gpu_bytes);
      assert.equal(bytes.length, LEAK_STEPS + 3);
      assert.equal(new Set(bytes).size, 1, `gpu_bytes flat: ${bytes}`);
      assert.ok(!lines.some((l) => l.type === "event" && l.event === "leak"));

      const HoardingGPT = gptWith(HoardingBlock);
      registerModel("leak_test_hoard", (d, c, o) => new HoardingGPT(d, c, o));
      cfg.model.name = "leak_test_hoard";
      const leaky = await train(cfg, { runsRoot: root, device: dev, progress: false });
      const events = (await readMetrics(leaky.dir)).filter((l): l is EventLine =>
        l.type === "event" && l.event === "leak"
      );
      assert.equal(events.length, 1);
      assert.match(
        String(events[0].detail),
        new RegExp(`grew for ${LEAK_STEPS} consecutive steps by 2,048 B per step`),
      );
      assert.equal(events[0].step, LEAK_STEPS + 1);
      for (const t of hoard.splice(0)) t.release();
    });
  },
);

/** A block that caches a tensor made inside the training step: the next step's use is refused. */
class StaleCacheBlock extends Block {
  private cached: Tensor | null = null;
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    this.cached ??= noGrad(() => ops.scale(x, 0));
    return super.forward(ops.add(x, this.cached), ctx);
  }
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "training: a tensor cached across steps fails with the op, the shape and what to do",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const StaleGPT = gptWith(StaleCacheBlock);
      registerModel("leak_test_stale", (d, c, o) => new StaleGPT(d, c, o));
      const cfg = tinyConfig(["training.max_steps=2", ...STEPS.slice(1)]);
      cfg.model.name = "leak_test_stale";
      await assert.rejects(
        train(cfg, { runsRoot: root, device: dev, progress: false }),
        /add \(input 1\): tensor was released: the output of scale \[4,16,32\] was freed at the end of the training step that made it .*untracked\(\) or keep it with \.retain\(\)/,
      );
    });
  },
);
