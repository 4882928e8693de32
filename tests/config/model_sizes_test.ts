import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { writeShard } from "../../src/data/shards.ts";
import { trainTokenizer } from "../../src/tokenizer/trainer.ts";
import { prepareRun } from "../../src/train/prepare.ts";
import { resolveModelSizes } from "../../src/config/model_sizes.ts";
import type { TrainingSource } from "../../src/data/sources.ts";
import { resolveConfig } from "../../src/train/resolve_config.ts";
import { UserError } from "../../src/util/errors.ts";

const SHAKESPEARE = "../shared/data/tinyshakespeare.txt";

/** The 95 printable ASCII characters (space to "~"), each once per line. */
const ASCII95 = Array.from(
  { length: 95 },
  (_, i) => String.fromCharCode(32 + i),
).join("");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiln-sizes-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("model sizes default to auto in the schema", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "c.yaml");
    await Deno.writeTextFile(
      path,
      "experiment_name: t\ndata: { source: process, process: mess3, n_ctx: 8, bos: true }\n" +
        "model: { n_layer: 1, n_head: 1, d_model: 8 }\n" +
        "training: { batch_size: 2, max_steps: 1, learning_rate: 0.001 }\n",
    );
    const cfg = await loadConfig(path);
    assert.equal(cfg.model.vocab_size, "auto");
    assert.equal(cfg.model.max_seq_len, "auto");
    // mess3: 3 tokens + BOS; the context is data.n_ctx
    const { config } = await resolveConfig(cfg);
    assert.equal(config.model.vocab_size, 4);
    assert.equal(config.model.max_seq_len, 8);
  });
});

Deno.test("a 95-character text: vocab_size auto is 95; an explicit 65 is an error", async () => {
  await withDir(async (dir) => {
    const text = join(dir, "my.txt");
    await Deno.writeTextFile(text, Array(400).fill(ASCII95).join(" "));
    const small = "configs/shakespeare_char_small.yaml";
    const { config } = await resolveConfig(
      await loadConfig(small, [`data.dataset=${text}`]),
    );
    assert.equal(config.model.vocab_size, 95);
    assert.equal(config.model.max_seq_len, 64); // stated in the config: kept
    await assert.rejects(
      async () =>
        await resolveConfig(
          await loadConfig(small, [
            `data.dataset=${text}`,
            "model.vocab_size=65",
          ]),
        ),
      (e: Error) =>
        e instanceof UserError &&
        /vocab_size is 65 .* 95 token ids: set model\.vocab_size=95/
          .test(e.message),
    );
    await assert.rejects(
      async () =>
        await resolveConfig(
          await loadConfig(small, [
            `data.dataset=${text}`,
            "model.max_seq_len=auto",
          ]),
        ),
      (e: Error) =>
        e instanceof UserError &&
        /a text corpus has none: set model\.max_seq_len/.test(e.message),
    );
  });
});

const SHIPPED = [
  "multiplication",
  "multiplication_simple",
  "multiplication_latent",
  "copy",
  "histogram",
  "mess3",
  "rrxor",
];

Deno.test("tasks and processes: auto gives exactly the sizes the shipped configs state", async () => {
  for (const name of SHIPPED) {
    const stated = await loadConfig(`configs/${name}.yaml`);
    const overrides = ["model.vocab_size=auto", "model.max_seq_len=auto"];
    // A task knows its longest example; a process needs data.n_ctx for its context.
    if (stated.data.source !== "task") {
      overrides.push(`data.n_ctx=${stated.model.max_seq_len}`);
    }
    const { config } = await resolveConfig(
      await loadConfig(`configs/${name}.yaml`, overrides),
    );
    assert.equal(config.model.vocab_size, stated.model.vocab_size, name);
    assert.equal(config.model.max_seq_len, stated.model.max_seq_len, name);
  }
});

Deno.test("an encoder–decoder run prepares with auto sizes: the study's 14 ids and 10 positions", async () => {
  const cfg = await loadConfig("configs/multiplication_latent.yaml", [
    "model.vocab_size=auto",
    "model.max_seq_len=auto",
  ]);
  const prepared = await prepareRun(cfg, {});
  assert.equal(prepared.config.model.vocab_size, 14);
  assert.equal(prepared.config.model.max_seq_len, 10);
  assert.equal(prepared.gptConfig.max_seq_len, 10);
  // source_len is still checked against the resolved context.
  await assert.rejects(
    () => prepareRun({ ...cfg, model: { ...cfg.model, source_len: 4 } }, {}),
    (e: Error) => e instanceof UserError && /set model\.source_len=5/.test(e.message),
  );
});

Deno.test("limits skip auto when a config loads, and hold for the sizes the data gives", async () => {
  const cfg = await loadConfig("configs/mess3.yaml", [
    "model.vocab_size=auto",
    "model.max_seq_len=auto",
    "data.n_ctx=10",
  ]);
  assert.equal(cfg.model.vocab_size, "auto");
  const source = {
    name: "huge",
    vocabSize: 2 ** 25,
    seqLen: 10,
  } as TrainingSource;
  assert.throws(
    () => resolveModelSizes(cfg, source),
    (e: Error) =>
      e instanceof UserError &&
      /model\.vocab_size: 33554432 is over kiln's limit/.test(e.message),
  );
});

Deno.test("shards: vocab_size auto is the tokenizer's size, else the largest id + 1", async () => {
  await withDir(async (dir) => {
    await writeShard(join(dir, "train_000000.bin"), [
      1,
      7,
      300,
      2,
      9,
      4,
      5,
      6,
      1,
      2,
    ], 1000);
    await writeShard(
      join(dir, "val_000000.bin"),
      [3, 301, 2, 1, 0, 5, 4, 3],
      1000,
    );
    const path = join(dir, "c.yaml");
    const write = (extra: string) =>
      Deno.writeTextFile(
        path,
        `experiment_name: t\ndata: { source: shards, train: ${dir}/train_*.bin, ` +
          `val: ${dir}/val_*.bin${extra} }\nmodel: { max_seq_len: 4, n_layer: 1, n_head: 1, ` +
          "d_model: 8 }\ntraining: { batch_size: 2, max_steps: 1, learning_rate: 0.001 }\n",
      );
    await write("");
    assert.equal(
      (await resolveConfig(await loadConfig(path))).config.model.vocab_size,
      302,
    );
    // A BPE tokenizer of 400 ids: its size wins over the ids seen.
    const tokenizer = join(dir, "tokenizer.json");
    const text = (await Deno.readTextFile(SHAKESPEARE)).slice(0, 20_000);
    const bpe = await trainTokenizer(text.split("\n"), { vocabSize: 400 });
    assert.equal(bpe.vocabSize, 400);
    await Deno.writeTextFile(tokenizer, JSON.stringify(bpe.toJSON()));
    await write(`, tokenizer: ${tokenizer}`);
    assert.equal(
      (await resolveConfig(await loadConfig(path))).config.model.vocab_size,
      400,
    );
    await write(`, vocab_size: 512`);
    assert.equal(
      (await resolveConfig(await loadConfig(path))).config.model.vocab_size,
      512,
    );
    await write(`, vocab_size: 100`);
    await assert.rejects(
      async () => await resolveConfig(await loadConfig(path)),
      (e: Error) =>
        e instanceof UserError &&
        /token id 301, outside a vocabulary of 100/.test(e.message),
    );
  });
});
