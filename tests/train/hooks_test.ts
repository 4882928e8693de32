import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/train/checkpoint.ts";
import { readMetrics, type TrainLine } from "../../src/train/metrics.ts";
import { HookRng, registerTrainingHooks, type TrainingHooks } from "../../src/train/hooks.ts";
import { train } from "../../src/train/trainer.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

const gpu = await hasWebGpuAdapter();

Deno.test("HookRng: the same key gives the same stream, another key another", () => {
  const a = new HookRng([5, 2, 7]);
  const b = new HookRng([5, 2, 7]);
  const c = new HookRng([5, 2, 8]);
  const xs = [a.next(), a.next(), a.int(10)];
  assert.deepEqual([b.next(), b.next(), b.int(10)], xs);
  assert.notDeepEqual([c.next(), c.next(), c.int(10)], xs);
});

Deno.test("registerTrainingHooks: an unknown hook name is a UserError", () => {
  assert.throws(
    () => registerTrainingHooks({ afterstep: () => {} } as unknown as TrainingHooks),
    (e: Error) => e instanceof UserError && /unknown hook "afterstep"/.test(e.message),
  );
});

function trainLines(lines: { type: string }[]): TrainLine[] {
  return lines.filter((l): l is TrainLine => l.type === "train");
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "hooks: metrics land in metrics.jsonl; transformBatch changes inputs only and resumes exactly",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig([
        "training.max_steps=6",
        "training.log_every=2",
        "training.eval_every=0",
        "training.checkpoint_every=3",
      ]);
      const calls: string[] = [];
      const hooks: TrainingHooks = {
        beforeStep: ({ step }) => void calls.push(`before ${step}`),
        afterStep: ({ step }) => void calls.push(`after ${step}`),
        // Corrupt a seeded quarter of the inputs: the targets stay as they were.
        transformBatch: (batch, { rng }) => {
          for (let i = 0; i < batch.inputs.length; i++) {
            if (rng.bernoulli(0.25)) batch.inputs[i] = rng.int(65);
          }
          batch.targets.fill(0); // ignored: only inputs come back
          return batch;
        },
        metrics: async ({ model, step }) => {
          const flat = await model.params.flat.toArray() as Float32Array;
          return { max_param: flat.reduce((m, v) => Math.max(m, v), -Infinity), hook_step: step };
        },
      };
      const plain = await train(cfg, { runsRoot: root, device: dev, progress: false });
      const full = await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        hooks: [hooks],
      });
      assert.deepEqual(calls.slice(0, 4), ["before 0", "after 1", "before 1", "after 2"]);
      const lines = trainLines(await readMetrics(full.dir));
      // log_every 2, and every checkpoint step (3) logs too.
      assert.deepEqual(lines.map((l) => l.step), [2, 3, 4, 6]);
      for (const l of lines) {
        assert.equal((l as unknown as Record<string, number>).hook_step, l.step);
      }
      // The last max_param is the largest weight of the final checkpoint on disk.
      const ckpt = await loadCheckpoint(join(full.dir, "checkpoints", "step_6"));
      const maxSaved = Math.max(...[...ckpt.params.values()].map((t) => Math.max(...t.data)));
      assert.equal((lines.at(-1) as unknown as Record<string, number>).max_param, maxSaved);
      const plainLosses = trainLines(await readMetrics(plain.dir)).map((l) => l.loss);
      assert.notDeepEqual(
        lines.map((l) => l.loss),
        plainLosses,
        "corrupted inputs change the loss",
      );
      // Stop at step 3, resume: the transform's seeded rng replays the same corruption.
      const stop = new AbortController();
      const half = await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        hooks: [{ ...hooks, afterStep: ({ step }) => void (step === 3 && stop.abort()) }],
        signal: stop.signal,
      });
      assert.equal(half.steps, 3);
      await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        resume: half.dir,
        hooks: [hooks],
      });
      assert.deepEqual(
        trainLines(await readMetrics(half.dir)).map((l) => l.loss),
        lines.map((l) => l.loss),
      );

      // A metric that is not a number stops the run with a one-line UserError.
      await assert.rejects(
        train(cfg, {
          runsRoot: root,
          device: dev,
          progress: false,
          hooks: [{ metrics: () => ({ bad: "x" as unknown as number }) }],
        }),
        (e: Error) =>
          e instanceof UserError && /"bad" must be a number, got string/.test(e.message),
      );
      // A registered hook applies to every later run until removed.
      let seen = 0;
      const off = registerTrainingHooks({ afterStep: () => void seen++ });
      try {
        await train(cfg, { runsRoot: root, device: dev, progress: false });
      } finally {
        off();
      }
      assert.equal(seen, 6);
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "training.freeze: frozen parameters are bit-identical after training, the others move",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig([
        "training.max_steps=3",
        "training.eval_every=0",
        "training.freeze=[h.0.*, wpe.weight]",
      ]);
      let before: Map<string, Float32Array> | null = null;
      let after: Map<string, Float32Array> | null = null;
      await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        hooks: [{
          beforeStep: async ({ step, model }) => {
            if (step === 0) before = await model.params.read();
          },
          afterStep: async ({ step, model }) => {
            if (step === 3) after = await model.params.read();
          },
        }],
      });
      for (const [name, values] of before!) {
        const same = values.every((v, i) => Object.is(v, after!.get(name)![i]));
        const frozen = name.startsWith("h.0.") || name === "wpe.weight";
        assert.equal(same, frozen, `${name}: ${frozen ? "frozen" : "trained"}`);
      }
      await assert.rejects(
        train(tinyConfig(["training.freeze=[h.7.*]"]), { runsRoot: root, device: dev }),
        (e: Error) =>
          e instanceof UserError && /^training\.freeze: "h\.7\.\*" matches no/.test(e.message),
      );
    });
  },
);
