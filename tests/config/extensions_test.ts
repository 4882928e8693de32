import assert from "node:assert/strict";
import { z } from "zod";
import "../../src/data/sources_all.ts";
import { registerTrainingExtra, unregisterTrainingExtra } from "../../src/config/extensions.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import { registerSource, sourceKind } from "../../src/data/sources.ts";
import { GPT } from "../../src/nn/gpt.ts";
import { registerModel } from "../../src/nn/registry.ts";
import { UserError } from "../../src/util/errors.ts";

const BASE = {
  experiment_name: "t",
  data: { source: "text", dataset: "corpus.txt" },
  model: {
    name: "ext_test_relu",
    vocab_size: 65,
    max_seq_len: 64,
    n_layer: 2,
    n_head: 2,
    d_model: 32,
  },
  training: { batch_size: 4, max_steps: 10, learning_rate: 1e-3 },
};

const factory = (...args: ConstructorParameters<typeof GPT>) => new GPT(...args);
registerModel("ext_test_relu", factory, {
  configSchema: z.object({
    inject_relu: z.boolean().default(false),
    relu_layer: z.number().int().default(0),
  }),
});

function resolve(overrides: string[] = [], raw: Record<string, unknown> = BASE) {
  return resolveConfigs(structuredClone(raw), overrides, "x.yaml");
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    assert.ok(!err.message.includes("\n"), `message is one line: ${err.message}`);
    return err.message;
  }
  assert.fail("expected an error");
}

Deno.test("registerModel configSchema: keys defaulted, overridable, sweepable, validated", () => {
  assert.equal(resolve()[0].config.model.inject_relu, false);
  assert.equal(resolve(["model.inject_relu=true"])[0].config.model.inject_relu, true);
  const swept = resolve([], { ...BASE, sweep: { model: { inject_relu: [true, false] } } });
  assert.deepEqual(swept.map((c) => c.config.model.inject_relu), [true, false]);
  assert.match(
    errorOf(() => resolve(["model.inject_relu=3"])),
    /model\.inject_relu: expected boolean, found number 3/,
  );
  assert.match(
    errorOf(() => resolve(["model.inject_reluu=true"])),
    /model\.inject_reluu: unknown key \(did you mean inject_relu\?\) \(checked against model "ext_test_relu"'s schema/,
  );
  // The built-in gpt does not know the key, and says whose schema judged it.
  assert.match(
    errorOf(() => resolve(["model.name=gpt", "model.inject_relu=true"])),
    /model\.inject_relu: unknown key .*model "gpt"'s schema: built-in keys only/,
  );
});

Deno.test("registerModel: a second registration or a key colliding with a built-in is a UserError", () => {
  assert.match(
    errorOf(() => registerModel("ext_test_relu", (...a) => new GPT(...a))),
    /model "ext_test_relu" is already registered/,
  );
  registerModel("ext_test_relu", factory); // the same factory again (a module loaded twice): fine
  assert.match(
    errorOf(() =>
      registerModel("ext_test_clash", factory, { configSchema: z.object({ d_model: z.number() }) })
    ),
    /configSchema key "d_model" collides with a built-in model key/,
  );
});

Deno.test("training.extra: plugin keys validated and defaulted; undeclared keys name the plugins", () => {
  assert.match(
    errorOf(() => resolve(["training.extra.corruption_frac=0.1"])),
    /training\.extra\.corruption_frac: unknown key .*declared by: none loaded/,
  );
  const schema = z.object({ corruption_frac: z.number().min(0).max(1).default(0) });
  registerTrainingExtra("ext_test_corrupt", schema);
  try {
    assert.equal(resolve()[0].config.training.extra.corruption_frac, 0);
    assert.equal(
      resolve(["training.extra.corruption_frac=0.25"])[0].config.training.extra.corruption_frac,
      0.25,
    );
    assert.match(
      errorOf(() => resolve(["training.extra.corruption_frac=2"])),
      /training\.extra\.corruption_frac: must be <=1/,
    );
    assert.match(
      errorOf(() => resolve(["training.extra.corruption_fra=0.1"])),
      /did you mean corruption_frac\?.*declared by: ext_test_corrupt/,
    );
    assert.match(
      errorOf(() => registerTrainingExtra("ext_other", z.object({ corruption_frac: z.number() }))),
      /already declared by "ext_test_corrupt"/,
    );
  } finally {
    unregisterTrainingExtra("ext_test_corrupt");
  }
});

Deno.test("registerSource: a name registered twice, or a `source` key, is a UserError", () => {
  const text = sourceKind("text");
  assert.match(
    errorOf(() => registerSource({ ...text })),
    /source kind "text" is already registered/,
  );
  assert.match(
    errorOf(() =>
      registerSource({ ...text, name: "ext_src", schema: z.strictObject({ source: z.string() }) })
    ),
    /schema key "source" collides/,
  );
});
