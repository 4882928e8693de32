/**
 * The seven examples/ plugins: each trains a tiny model a few steps; its change changes the loss
 * (example 7 only logs, and must not), and its "off" setting reproduces the unmodified run bit
 * for bit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import "../../src/data/sources_all.ts";
import { readConfigFile, resolveConfigs } from "../../src/config/load.ts";
import { BUILTIN_MODEL_KEYS } from "../../src/config/schema.ts";
import { importPlugins } from "../../src/plugins/imports.ts";
import { readMetrics, type TrainLine } from "../../src/train/metrics.ts";
import { train, type TrainOptions } from "../../src/train/trainer.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { withDeviceAndRoot } from "../train/_tiny.ts";

const gpu = await hasWebGpuAdapter();

interface Example {
  name: string;
  on: string[];
  off: string[];
  /** "same": the plugin only observes (the loss must not change). */
  loss?: "same";
}

const EXAMPLES: Example[] = [
  { name: "relu_after_block", on: ["model.inject_relu=true"], off: ["model.inject_relu=false"] },
  { name: "square_ffn", on: ["model.square_ffn=true"], off: ["model.square_ffn=false"] },
  { name: "attention_scale", on: ["model.attn_scale=3"], off: ["model.attn_scale=1"] },
  { name: "attention_scale_on_token", on: ["model.attn_scale=3"], off: ["model.attn_scale=1"] },
  {
    name: "random_freeze",
    on: ["training.extra.freeze_prob=0.5"],
    off: ["training.extra.freeze_prob=0"],
  },
  {
    name: "corrupt_inputs",
    on: ["training.extra.corruption_frac=0.3"],
    off: ["training.extra.corruption_frac=0"],
  },
  {
    name: "log_max_param",
    on: ["training.extra.max_param_every=2"],
    off: ["training.extra.max_param_every=0"],
    loss: "same",
  },
];

/** Every example's config, shrunk to a few steps of a tiny model. */
const TINY = [
  "data.dataset=../shared/data/tinyshakespeare.txt",
  "model.n_layer=2",
  "model.n_head=2",
  "model.d_model=32",
  "model.max_seq_len=16",
  "training.batch_size=4",
  "training.max_steps=4",
  "training.warmup_steps=1",
  "training.log_every=1",
  "training.eval_every=0",
  "training.checkpoint_every=0",
];

/** The example's config without its plugin: the plain GPT, no extra keys, no sweep. */
function unmodified(raw: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(raw);
  delete copy.sweep;
  const model = copy.model as Record<string, unknown>;
  for (const key of Object.keys(model)) if (!BUILTIN_MODEL_KEYS.includes(key)) delete model[key];
  model.name = "gpt";
  delete (copy.training as Record<string, unknown>).extra;
  return copy;
}

function trainLines(lines: { type: string }[]): TrainLine[] {
  return lines.filter((l): l is TrainLine => l.type === "train");
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "examples/: each change changes the loss; each off setting reproduces the plain run bit for bit",
  async () => {
    await importPlugins(EXAMPLES.map((e) => join("examples", e.name, "plugin.ts")));
    await withDeviceAndRoot(async (dev, root) => {
      const run = async (
        raw: Record<string, unknown>,
        overrides: string[],
        extra: TrainOptions = {},
      ) => {
        const [{ config }] = resolveConfigs(raw, [...TINY, ...overrides], "example");
        const result = await train(config, {
          runsRoot: root,
          device: dev,
          progress: false,
          ...extra,
        });
        assert.equal(result.status, "finished");
        return trainLines(await readMetrics(result.dir));
      };
      let plain: number[] | null = null;
      for (const ex of EXAMPLES) {
        const raw = await readConfigFile(join("examples", ex.name, "config.yaml"));
        // The config as shipped validates with its plugin loaded (every sweep point).
        assert.ok(resolveConfigs(raw, [], ex.name).length >= 1);
        plain ??= (await run(unmodified(raw), [])).map((l) => l.loss);
        const off = await run(raw, ex.off);
        assert.deepEqual(off.map((l) => l.loss), plain, `${ex.name}: off = the plain run`);
        const hasTrigger: boolean[] = [];
        const on = await run(raw, ex.on, {
          hooks: [{ transformBatch: (b) => void hasTrigger.push(b.inputs.includes(10)) }],
        });
        const losses = on.map((l) => l.loss);
        if (ex.loss === "same") {
          assert.deepEqual(losses, plain, `${ex.name}: logging leaves the run unchanged`);
          const logged = on.map((l) => (l as unknown as Record<string, number>).max_param);
          assert.equal(logged[0], undefined);
          assert.equal(logged[2], undefined);
          assert.ok(logged[1] > 0 && logged[3] > 0, `max_param at steps 2 and 4: ${logged}`);
        } else {
          assert.notDeepEqual(losses, plain, `${ex.name}: the change changes the loss`);
          assert.ok(losses.every(Number.isFinite), `${ex.name}: finite losses ${losses}`);
        }
        if (ex.name === "attention_scale_on_token") {
          // Only batches with token 10 are scaled: the curve matches the plain one until then.
          const first = hasTrigger.indexOf(true);
          assert.ok(first >= 0, "some batch contains token 10");
          for (let s = 0; s < losses.length; s++) {
            if (s < first) assert.equal(losses[s], plain[s], `step ${s + 1}: no token 10 yet`);
          }
          assert.notEqual(losses[first], plain[first], "the first batch with token 10 differs");
        }
      }
    });
  },
);
