import assert from "node:assert/strict";
import { join } from "node:path";
import "../../src/data/sources_all.ts";
import type { LanguageModel } from "../../src/nn/registry.ts";
import { loadCheckpoint } from "../../src/train/checkpoint.ts";
import { readMetrics } from "../../src/train/metrics.ts";
import { checkSpike, median, type SpikeState } from "../../src/train/spike_guard.ts";
import { train } from "../../src/train/trainer.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

Deno.test("checkSpike: a value past factor × running median is a spike; 0 turns it off", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const s: SpikeState = {};
  for (const v of [1, 1.2, 0.8, 1, 1]) {
    assert.equal(checkSpike(s, 3, v, 2), null);
  }
  assert.equal(checkSpike(s, 3, 2.9, 5.9), null); // medians 1 and 2: under 3× both
  assert.match(
    checkSpike(s, 3, 3.5, null)!,
    /^loss 3\.5000 > 3 × median 1\.0000$/,
  );
  assert.match(
    checkSpike(s, 3, 1, 7)!,
    /^grad_norm 7\.0000 > 3 × median 2\.0000$/,
  );
  assert.deepEqual(s.spike_history!.loss, [1, 1.2, 0.8, 1, 1, 2.9, 3.5, 1]);
  assert.equal(checkSpike({}, 0, 1e9, 1e9), null);
});

const gpu = await hasWebGpuAdapter();

/** Deterministic large embeddings: the tied head's logits blow up, the loss stays finite. */
function inflate(model: LanguageModel, magnitude: number): void {
  const wte = model.params.tensors.get("wte.weight")!;
  const values = Float32Array.from(
    { length: wte.size },
    (_, i) => magnitude * Math.sin(i * 7.3),
  );
  model.params.write(new Map([["wte.weight", values]]));
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "spike guard: a loss jump logs a spike and checkpoints the last state that passed; NaN rollback intact",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig([
        "training.max_steps=12",
        "training.eval_every=0",
        "training.checkpoint_every=0",
        "training.keep_checkpoints=20",
        "training.guards.spike_factor=3",
      ]);
      const run = await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        onStep: (step, model) => step === 8 && inflate(model, 4),
      });
      assert.equal(run.status, "finished");
      const events = (await readMetrics(run.dir)).filter((l) => l.type === "event") as {
        event: string;
        step: number;
        detail: string;
      }[];
      const spikes = events.filter((e) => e.event === "spike");
      assert.ok(spikes.length >= 1, events.map((e) => e.event).join(","));
      // Weights inflated after step 8: step 9's loss is the first to jump.
      assert.equal(spikes[0].step, 9);
      assert.match(
        spikes[0].detail,
        /loss [\d.]+ > 3 × median [\d.]+.* at step 9$/,
      );
      // The emergency checkpoint holds the last state that passed the check: the one step 8
      // started from (step 9 started from the inflated weights), before the inflation.
      const emergency = events.find((e) => e.event === "checkpoint" && e.step === 9);
      assert.ok(emergency, events.map((e) => `${e.event}@${e.step}`).join(","));
      assert.match(emergency.detail, /step_7$/);
      const ckpt = await loadCheckpoint(join(run.dir, "checkpoints", "step_7"));
      assert.equal(ckpt.state.step, 7);
      assert.equal(ckpt.state.spike_history!.loss.length, 7);
      const wte = ckpt.params.get("wte.weight")!.data;
      assert.ok(wte.every((v) => Math.abs(v) < 1), "the checkpoint holds the inflated weights");

      // A NaN still goes through the rollback with the spike guard on.
      const nan = await train(
        tinyConfig([
          "training.max_steps=12",
          "training.checkpoint_every=4",
          "training.guards.spike_factor=3",
        ]),
        {
          runsRoot: root,
          device: dev,
          progress: false,
          onStep: (() => {
            let done = false;
            return (step: number, model: LanguageModel) => {
              if (step !== 6 || done) return;
              done = true;
              const wte = model.params.tensors.get("wte.weight")!;
              model.params.write(
                new Map([["wte.weight", new Float32Array(wte.size).fill(NaN)]]),
              );
            };
          })(),
        },
      );
      assert.equal(nan.status, "finished");
      const kinds = (await readMetrics(nan.dir)).filter((l) => l.type === "event")
        .map((l) => (l as { event: string }).event).filter((e) => e !== "checkpoint");
      assert.deepEqual(kinds, ["nan", "lr_cut"]);
    });
  },
);
