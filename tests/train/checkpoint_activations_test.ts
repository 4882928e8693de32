/**
 * `training.checkpoint_activations` through the trainer: the same train and validation losses
 * as the default, a lower `gpu_peak_bytes`, the key recorded in the run's config; a registered
 * model whose forward ignores the option gets an event saying so.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseYaml } from "../../src/deps.ts";
import { type ForwardOptions, GPT } from "../../src/nn/gpt.ts";
import { registerModel } from "../../src/nn/registry.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import {
  type EventLine,
  type MetricsLine,
  readMetrics,
  type TrainLine,
} from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

const gpu = await hasWebGpuAdapter();

const STEPS = ["training.max_steps=6", "training.eval_every=3", "model.dropout=0.1"];

testNeeding(
  "a WebGPU adapter",
  gpu,
  "training.checkpoint_activations: same losses as the default, lower peak GPU bytes",
  async () => {
    const runs: { run: Awaited<ReturnType<typeof train>>; lines: MetricsLine[] }[] = [];
    for (const on of [false, true]) {
      // A device each: a run leaves caches on its device that a second run would count.
      await withDeviceAndRoot(async (dev, root) => {
        const cfg = tinyConfig([...STEPS, `training.checkpoint_activations=${on}`]);
        const run = await train(cfg, { runsRoot: root, device: dev, progress: false });
        assert.equal(run.status, "finished");
        const saved = parseYaml(await Deno.readTextFile(join(run.dir, "config.yaml"))) as {
          training: Record<string, unknown>;
        };
        assert.equal(saved.training.checkpoint_activations, on, "recorded in config.yaml");
        runs.push({ run, lines: await readMetrics(run.dir) });
      });
    }
    const [plain, checkpointed] = runs.map(({ lines }) => ({
      train: lines.filter((l): l is TrainLine => l.type === "train"),
      val: lines.filter((l) => l.type === "val").map((l) => (l as { loss: number }).loss),
      events: lines.filter((l) =>
        (l as EventLine).type === "event" && (l as EventLine).event === "checkpoint_activations"
      ),
    }));
    assert.equal(plain.train.length, 6);
    assert.deepEqual(checkpointed.train.map((l) => l.loss), plain.train.map((l) => l.loss));
    assert.deepEqual(checkpointed.val, plain.val);
    assert.equal(runs[1].run.finalValLoss, runs[0].run.finalValLoss);
    for (const [i, line] of checkpointed.train.entries()) {
      const without = plain.train[i].gpu_peak_bytes;
      assert.ok(line.gpu_peak_bytes >= line.gpu_bytes, "the peak covers what stays held");
      assert.ok(line.gpu_peak_bytes < without, `${line.gpu_peak_bytes} < ${without} B`);
    }
    assert.equal(checkpointed.events.length, 0, "the built-in GPT checkpoints its blocks");
  },
);

/** A registered model that drops the option: it keeps every activation. */
class KeepsActivations extends GPT {
  override forward(ids: Tensor, opts: ForwardOptions = {}) {
    return super.forward(ids, { ...opts, checkpointActivations: false });
  }
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "training.checkpoint_activations: a model that checkpoints no block is reported once",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      registerModel("ckpt_test_keeps", (d, c, o) => new KeepsActivations(d, c, o));
      const cfg = tinyConfig(["training.max_steps=2", "training.checkpoint_activations=true"]);
      cfg.model.name = "ckpt_test_keeps";
      const run = await train(cfg, { runsRoot: root, device: dev, progress: false });
      assert.equal(run.status, "finished");
      const events = (await readMetrics(run.dir)).filter((l): l is EventLine =>
        l.type === "event" && l.event === "checkpoint_activations"
      );
      assert.equal(events.length, 1);
      assert.match(events[0].detail, /^model "ckpt_test_keeps" checkpoints no block/);
    });
  },
);
