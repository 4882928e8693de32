import assert from "node:assert/strict";
import { loadConfig } from "../../../src/config/load.ts";
import "../../../src/data/sources_all.ts";
import { createSource } from "../../../src/data/sources.ts";
import { checkModelFitsSource } from "../../../src/train/prepare.ts";
import { requireResolved, sourceContextOf } from "../../../src/config/model_sizes.ts";

const CONFIGS = ["mess3", "rrxor", "multiplication", "copy", "histogram"];

for (const name of CONFIGS) {
  Deno.test(`configs/${name}.yaml validates and its model fits its data exactly`, async () => {
    const cfg = requireResolved(await loadConfig(`configs/${name}.yaml`), name);
    const source = await createSource(cfg.data, sourceContextOf(cfg));
    checkModelFitsSource(cfg.model, source);
    // no wasted embedding rows or positions: the configs state the data's exact sizes
    assert.equal(cfg.model.vocab_size, source.vocabSize);
    assert.equal(cfg.model.max_seq_len, source.seqLen);
  });
}

Deno.test("configs/mess3.yaml is the seed setup and its L* is 0.85939", async () => {
  const cfg = await loadConfig("configs/mess3.yaml");
  assert.deepEqual(
    [cfg.model.n_layer, cfg.model.n_head, cfg.model.d_model, cfg.model.max_seq_len],
    [2, 2, 64, 6],
  );
  assert.equal(cfg.training.learning_rate, 1e-3);
  assert.ok(cfg.training.batch_size >= 32);
  const source = await createSource(cfg.data, {
    seed: cfg.seed,
    seqLen: 6,
    vocabSize: 4,
    batchSize: cfg.training.batch_size,
  });
  assert.ok(Math.abs((source.metadata!.optimal_loss as number) - 0.85939) < 5e-6);
});
