import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../../src/nn/gpt.ts";
import {
  checkModelName,
  createGpt,
  createModel,
  type LanguageModel,
  modelNames,
  registerModel,
} from "../../src/nn/registry.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

const gpu = await hasWebGpuAdapter();

const CFG = gptConfig({
  vocab_size: 11,
  max_seq_len: 8,
  n_layer: 1,
  n_head: 2,
  d_model: 8,
});

/** A registered GPT variant (a subclass, as a researcher's experiment would be). */
class WideGPT extends GPT {}
/** Registered once: a second registration of a name is an error. */
const wideFactory = (dev: Device, cfg: GPTConfig, opts: { seed: number }) =>
  new WideGPT(dev, cfg, opts);

Deno.test("registry: an unknown model.name is a UserError that lists the known names", () => {
  registerModel("registry_test_wide", wideFactory);
  assert.ok(modelNames().includes("gpt") && modelNames().includes("registry_test_wide"));
  checkModelName("registry_test_wide");
  assert.throws(
    () => checkModelName("gtp"),
    (e: Error) =>
      e instanceof UserError && /unknown model "gtp"; known: .*gpt/.test(e.message) &&
      e.message.includes("registry_test_wide"),
  );
});

testNeeding(
  "a WebGPU adapter",
  gpu,
  "registry: createModel builds the registered class; createGpt refuses a non-GPT",
  async () => {
    const dev = await Device.open();
    try {
      registerModel("registry_test_wide", wideFactory);
      const wide = createModel(dev, { ...CFG, name: "registry_test_wide" }, { seed: 1 });
      assert.ok(wide instanceof WideGPT);
      const plain = createModel(dev, CFG, { seed: 1 });
      assert.ok(plain instanceof GPT && !(plain instanceof WideGPT));
      // Same seed, same shapes → the same initial weights whichever name built them.
      const [a, b] = [await wide.params.read(), await plain.params.read()];
      assert.deepEqual([...a.keys()], [...b.keys()]);
      assert.deepEqual(a.get("h.0.attn.c_attn.weight"), b.get("h.0.attn.c_attn.weight"));
      assert.ok(
        createGpt(dev, { ...CFG, name: "registry_test_wide" }, { seed: 1 }) instanceof WideGPT,
      );

      // A model that is not a GPT trains (LanguageModel) but cannot be decoded with the KV cache.
      registerModel("registry_test_other", (dev, cfg, opts) => {
        const inner = new GPT(dev, cfg, opts);
        const other: LanguageModel = {
          config: inner.config,
          params: inner.params,
          numParams: () => inner.numParams(),
          flopsPerToken: (t) => inner.flopsPerToken(t),
          forward: (ids, o) => inner.forward(ids, o),
        };
        return other;
      });
      assert.throws(
        () => createGpt(dev, { ...CFG, name: "registry_test_other" }, { seed: 1 }),
        (e: Error) =>
          e instanceof UserError && /"registry_test_other" is not a GPT/.test(e.message),
      );
      assert.throws(() => createModel(dev, { ...CFG, name: "nope" }, { seed: 1 }), UserError);
    } finally {
      dev.destroy();
    }
  },
);
