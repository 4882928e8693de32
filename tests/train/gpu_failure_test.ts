/**
 * GPU errors are fatal and named: a pipeline that fails to build names its kernel, an uncaptured
 * validation error or a lost device stops training at the next step boundary with a one-line
 * error and `status: failed`, and the checkpoints written before stay loadable.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { defineKernel } from "../../src/gpu/kernel.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { train } from "../../src/train/trainer.ts";
import { readPointer } from "../../src/train/checkpoint.ts";
import { GpuError } from "../../src/util/errors.ts";
import { gpuTest } from "../tensor/_helpers.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

gpuTest(
  "a pipeline that fails to build is a GpuError naming kernel, entry point and message",
  async () => {
    await withDeviceAndRoot(async (dev) => {
      const broken = defineKernel({
        shader: "softmax",
        entryPoint: "softmax_forward",
        constants: { NOT_A_CONSTANT: 1 },
        uniforms: [["rows", "u32"], ["cols", "u32"]],
      });
      const x = Tensor.zeros(dev, [2, 8]);
      const y = Tensor.zeros(dev, [2, 8]);
      broken.dispatch(dev, { bindings: [x, y], uniforms: { rows: 2, cols: 8 }, workgroups: [2] });
      await assert.rejects(
        () => y.toArray(),
        (err: Error) =>
          err instanceof GpuError &&
          /^kernel softmax\/softmax_forward\{NOT_A_CONSTANT=1\}: \S/.test(err.message) &&
          !err.message.includes("\n"),
      );
      assert.ok(dev.failure, "the device keeps the failure");
    });
  },
);

for (
  const [what, inject, pattern] of [
    ["a lost device", (gpu: GPUDevice) => gpu.destroy(), /device lost/],
    [
      "an uncaptured validation error",
      (gpu: GPUDevice) => gpu.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | 0x80 }),
      /WebGPU \w*Error: /,
    ],
  ] as const
) {
  gpuTest(`${what} mid-run fails the run at a step boundary; checkpoints stay`, async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig(["training.checkpoint_every=5", "training.keep_checkpoints=3"]);
      let failedAt = -1;
      const err = await train(cfg, {
        device: dev,
        runsRoot: root,
        progress: false,
        onStep: (step) => {
          if (step === 12) {
            failedAt = step;
            inject(dev.gpu);
          }
        },
      }).then(() => null, (e: Error) => e);
      assert.ok(err instanceof GpuError, `expected a GpuError, got ${err}`);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes("\n"), "one line");
      assert.equal(failedAt, 12);
      const [runDir] = [...Deno.readDirSync(join(root, "tiny"))].map((e) =>
        join(root, "tiny", e.name)
      );
      const info = JSON.parse(await Deno.readTextFile(join(runDir, "run.json")));
      assert.equal(info.status, "failed");
      assert.ok(info.step <= 14, `stopped at step ${info.step}, soon after the error`);
      const latest = await readPointer(runDir, "latest");
      assert.equal(latest?.step, 10, "the last good checkpoint is kept");
      const lines = (await Deno.readTextFile(join(runDir, "metrics.jsonl"))).trim().split("\n")
        .map((l) => JSON.parse(l));
      assert.ok(lines.some((l) => l.type === "event" && l.event === "gpu_error"));
    });
  });
}
