import assert from "node:assert/strict";
import { join } from "node:path";
import YAML from "yaml";
import "../../src/data/sources_all.ts";
import { loadConfigs, resolveConfigs } from "../../src/config/load.ts";
import { UserError } from "../../src/util/errors.ts";

const BASE = {
  experiment_name: "small",
  data: { source: "text", dataset: "corpus.txt" },
  model: { vocab_size: 65, max_seq_len: 64, n_layer: 2, n_head: 2, d_model: 32 },
  training: { batch_size: 4, max_steps: 10, learning_rate: 1e-3 },
};

Deno.test("--config configs/small: small.yaml, then every small-*.yaml in name order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (name: string, patch: Record<string, unknown>) =>
      Deno.writeTextFile(join(dir, name), YAML.stringify({ ...BASE, ...patch }));
    await write("small.yaml", {});
    await write("small-wide.yaml", { experiment_name: "small-wide" });
    await write("small-deep.yaml", { experiment_name: "small-deep" });
    await write("smaller.yaml", { experiment_name: "smaller" });
    const names = (await loadConfigs(join(dir, "small"))).map((c) => c.config.experiment_name);
    assert.deepEqual(names, ["small", "small-deep", "small-wide"]);
    // A file path still means that file alone.
    assert.equal((await loadConfigs(join(dir, "small.yaml"))).length, 1);
    await assert.rejects(
      loadConfigs(join(dir, "tiny")),
      (e: Error) =>
        e instanceof UserError && /also tried .*tiny\.yaml and .*tiny-\*\.yaml/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ablations: each named override set runs beside the base, named after it", () => {
  const raw = {
    ...BASE,
    ablations: {
      wide: { model: { d_model: 64 } },
      slow: { training: { learning_rate: 1e-4 } },
    },
  };
  const all = resolveConfigs(structuredClone(raw), [], "small.yaml");
  assert.deepEqual(all.map((c) => c.config.experiment_name), ["small", "small-wide", "small-slow"]);
  assert.deepEqual(all.map((c) => c.sweep), [{}, { ablation: "wide" }, { ablation: "slow" }]);
  assert.deepEqual(all.map((c) => c.config.model.d_model), [32, 64, 32]);
  assert.deepEqual(all.map((c) => c.config.training.learning_rate), [1e-3, 1e-3, 1e-4]);
  // A command-line override wins over an ablation's own value.
  const pinned = resolveConfigs(structuredClone(raw), ["model.d_model=48"], "small.yaml");
  assert.deepEqual(pinned.map((c) => c.config.model.d_model), [48, 48, 48]);
  // An ablation key that does not exist is named with the ablation.
  assert.throws(
    () =>
      resolveConfigs({ ...BASE, ablations: { bad: { model: { d_modle: 3 } } } }, [], "small.yaml"),
    (e: Error) =>
      e instanceof UserError &&
      /small\.yaml \[ablation="bad"\]: model\.d_modle: unknown key/.test(e.message),
  );
  assert.throws(
    () => resolveConfigs({ ...BASE, ablations: [1] }, [], "s.yaml"),
    (e: Error) => e instanceof UserError && /ablations: expected a mapping/.test(e.message),
  );
});
