import assert from "node:assert/strict";
import { join } from "node:path";
import "../../src/data/sources_all.ts";
import { loadModel } from "../../src/eval/load.ts";
import { Block, type ForwardContext, GPT } from "../../src/nn/gpt.ts";
import type { ResolvedConfig } from "../../src/nn/gpt_config.ts";
import type { ParamBuilder } from "../../src/nn/params.ts";
import { type LanguageModel, registerModel } from "../../src/nn/registry.ts";
import { ops } from "../../src/tensor/ops.ts";
import type { Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { readMetrics, type TrainLine } from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import { parseJsonLines } from "../../src/util/fs.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

const gpu = await hasWebGpuAdapter();

function trainLosses(lines: { type: string }[]): number[] {
  return lines.filter((l): l is TrainLine => l.type === "train").map((l) => l.loss);
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "training: same seed → same curve; 20 + resume + 20 = 40 straight, bit for bit",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig();
      const a = await train(cfg, { runsRoot: root, device: dev, progress: false });
      const b = await train(cfg, { runsRoot: root, device: dev, progress: false });
      assert.equal(a.status, "finished");
      assert.notEqual(a.dir, b.dir);
      const metricsA = await readMetrics(a.dir);
      const lossesA = trainLosses(metricsA);
      // Validation and checkpoints in between leave no tensors behind.
      const bytes = new Set(metricsA.filter((l) => l.type === "train").map((l) => l.gpu_bytes));
      assert.equal(bytes.size, 1, `GPU bytes in use stay constant: ${[...bytes]}`);
      assert.equal(lossesA.length, 40);
      assert.deepEqual(trainLosses(await readMetrics(b.dir)), lossesA);
      assert.ok(lossesA[39] < lossesA[0] - 0.5, `loss falls: ${lossesA[0]} → ${lossesA[39]}`);

      // Stop after step 20 (what Ctrl-C does), then resume the run directory.
      const stop = new AbortController();
      const half = await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        signal: stop.signal,
        onStep: (step) => step === 20 && stop.abort(),
      });
      assert.equal(half.status, "stopped");
      assert.equal(half.steps, 20);
      const resumed = await train(cfg, { runsRoot: root, device: dev, resume: half.dir });
      assert.equal(resumed.dir, half.dir);
      assert.equal(resumed.status, "finished");
      const lines = await readMetrics(half.dir);
      assert.deepEqual(trainLosses(lines), lossesA);
      assert.equal(resumed.finalValLoss, a.finalValLoss);
      const events = lines.filter((l) => l.type === "event").map((l) =>
        (l as { event: string }).event
      );
      assert.ok(events.includes("stopped") && events.includes("resume"), events.join(","));

      // The run directory as DESIGN.md describes it.
      const info = JSON.parse(await Deno.readTextFile(join(a.dir, "run.json")));
      assert.equal(info.status, "finished");
      assert.equal(info.param_count, a.paramCount);
      assert.equal(info.peak_flops, null);
      assert.ok(info.adapter.description.length > 0 && info.adapter.limits.maxBufferSize > 0);
      assert.ok(await Deno.stat(join(a.dir, "config.yaml")));
      assert.ok(JSON.parse(await Deno.readTextFile(join(a.dir, "tokenizer.json"))).model.vocab);
      const latest = JSON.parse(await Deno.readTextFile(join(a.dir, "checkpoints", "latest")));
      assert.equal(latest.step, 40);
      for (const f of ["model.safetensors", "optimizer.safetensors", "state.json"]) {
        assert.ok(await Deno.stat(join(a.dir, "checkpoints", "step_40", f)));
      }
      const val = parseJsonLines<{ type: string; step: number; ppl: number; loss: number }>(
        await Deno.readTextFile(join(a.dir, "metrics.jsonl")),
      ).filter((l) => l.type === "val");
      assert.deepEqual(val.map((l) => l.step), [0, 10, 20, 30, 40]);
      assert.ok(Math.abs(val[0].ppl - Math.exp(val[0].loss)) < 1e-9);
      assert.ok(
        Math.abs(val[0].loss - Math.log(65)) < 0.3,
        `initial val loss ≈ ln 65: ${val[0].loss}`,
      );
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "guards: a NaN is caught, the lr is cut and training recovers; repeated NaNs fail the run",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig(["training.max_steps=12", "training.checkpoint_every=4"]);
      const poison = (model: LanguageModel) => {
        const wte = model.params.tensors.get("wte.weight")!;
        model.params.write(new Map([["wte.weight", new Float32Array(wte.size).fill(NaN)]]));
      };
      let poisoned = false;
      const ok = await train(cfg, {
        runsRoot: root,
        device: dev,
        onStep: (step, model) => {
          if (step === 6 && !poisoned) [poisoned] = [true, poison(model)];
        },
      });
      assert.equal(ok.status, "finished");
      assert.ok(Number.isFinite(ok.finalValLoss!));
      const events = (await readMetrics(ok.dir)).filter((l) => l.type === "event") as {
        event: string;
        detail: string;
      }[];
      assert.deepEqual(events.filter((e) => e.event !== "checkpoint").map((e) => e.event), [
        "nan",
        "lr_cut",
      ]);
      assert.match(events.find((e) => e.event === "lr_cut")!.detail, /scale 0\.5, back to step 4/);
      assert.match(events.find((e) => e.event === "nan")!.detail, /at step [5-8] \(failure 1\)/);
      // The rolled-back steps were rewound: each step is logged once, in order.
      const steps = (await readMetrics(ok.dir)).filter((l) => l.type === "train").map((l) =>
        l.step
      );
      assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i + 1));

      const bad = await train(
        tinyConfig(["training.max_steps=12", "training.guards.max_failures=2"]),
        {
          runsRoot: root,
          device: dev,
          onStep: (step, model) => step === 3 && poison(model),
        },
      );
      assert.equal(bad.status, "failed");
      assert.match(bad.message!, /training diverged: 3 non-finite/);
      const info = JSON.parse(await Deno.readTextFile(join(bad.dir, "run.json")));
      assert.equal(info.status, "failed");
      const latest = JSON.parse(await Deno.readTextFile(join(bad.dir, "checkpoints", "latest")));
      assert.equal(latest.step, 0);
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "gradient accumulation: micro-batches count in tokens and the loss is their mean",
  async () => {
    const root = await Deno.makeTempDir();
    try {
      const cfg = tinyConfig(["training.max_steps=3", "training.grad_accum_steps=2"]);
      const run = await train(cfg, { runsRoot: root });
      const lines = (await readMetrics(run.dir)).filter((l): l is TrainLine => l.type === "train");
      assert.deepEqual(lines.map((l) => l.tokens), [128, 256, 384]);
      // The first step's loss is the mean over its two micro-batches at initialisation: ≈ ln 65.
      assert.ok(Math.abs(lines[0].loss - Math.log(65)) < 0.3, `${lines[0].loss}`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

/** A block whose residual branches are halved: a researcher's registered variant. */
class HalfResidualBlock extends Block {
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    x = ops.add(x, ops.scale(this.attn.forward(this.ln1.forward(x), ctx), 0.5));
    return ops.add(x, ops.scale(this.mlp.forward(this.ln2.forward(x), ctx), 0.5));
  }
}

class HalfResidualGPT extends GPT {
  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    return new HalfResidualBlock(pb, prefix, cfg);
  }
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "model registry: a registered model.name is trained and loaded back; an unknown one is refused",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      registerModel("trainer_test_half", (d, c, o) => new HalfResidualGPT(d, c, o));
      const cfg = tinyConfig(["training.max_steps=2", "training.checkpoint_every=2"]);
      cfg.model.name = "trainer_test_half";
      const trained: LanguageModel[] = [];
      const run = await train(cfg, {
        runsRoot: root,
        device: dev,
        progress: false,
        onStep: (_, model) => trained.push(model),
      });
      assert.equal(run.status, "finished");
      assert.ok(trained.length === 2 && trained[0] instanceof HalfResidualGPT);
      const loaded = await loadModel(run.dir, { device: dev });
      assert.ok(loaded.model instanceof HalfResidualGPT, "the checkpoint loader uses the registry");
      assert.equal(loaded.config.name, "trainer_test_half");

      cfg.model.name = "no_such_model";
      const before = [...Deno.readDirSync(root)].length;
      await assert.rejects(
        train(cfg, { runsRoot: root, device: dev, progress: false }),
        (e: Error) =>
          e instanceof UserError && /unknown model "no_such_model"; known: .*gpt/.test(e.message),
      );
      assert.equal([...Deno.readDirSync(root)].length, before, "nothing written for a bad name");
    });
  },
);
