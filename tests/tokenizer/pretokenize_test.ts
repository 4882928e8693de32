import assert from "node:assert/strict";
import { join } from "node:path";
import { get_encoding } from "tiktoken";
import { openDocuments } from "../../src/data/registry.ts";
import { loadShards } from "../../src/data/shards.ts";
import { pretokenizeDataset } from "../../src/tokenizer/pretokenize.ts";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";
import { trainTokenizer } from "../../src/tokenizer/trainer.ts";
import { UserError } from "../../src/util/errors.ts";
import { CORPUS_FILES } from "./_support/texts.ts";

async function withCorpus(fn: (dir: string, corpus: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiln-pretokenize-" });
  try {
    const corpus = join(dir, "shakespeare.txt");
    await Deno.writeTextFile(corpus, (await Deno.readTextFile(CORPUS_FILES[0])).slice(0, 50_000));
    await fn(dir, corpus);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function concatenated(glob: string): Promise<number[]> {
  return (await loadShards(glob)).flatMap((s) => Array.from(s.tokens));
}

Deno.test("pretokenize: shards hold EOT + tiktoken's ids of each document, any worker count", async () => {
  await withCorpus(async (dir, corpus) => {
    const one = join(dir, "one");
    const two = join(dir, "two");
    const r1 = await pretokenizeDataset({
      dataset: corpus,
      tokenizer: "gpt2",
      outDir: one,
      workers: 1,
      valFraction: 0.1,
    });
    const r2 = await pretokenizeDataset({
      dataset: corpus,
      tokenizer: "gpt2",
      outDir: two,
      workers: 2,
      valFraction: 0.1,
      shardTokens: 2000,
      batchChars: 4000, // many batches, so both workers take turns
    });
    assert.equal(r1.train.shards.length, 1);
    assert.ok(r2.train.shards.length > 3);
    assert.deepEqual(
      await concatenated(join(two, "*_train_*.bin")),
      await concatenated(join(one, "*_train_*.bin")),
    );
    assert.deepEqual(
      await concatenated(join(two, "*_val_*.bin")),
      await concatenated(join(one, "*_val_*.bin")),
    );
    // Every shard but the last is exactly --shard-tokens long.
    const shards = await loadShards(join(two, "*_train_*.bin"));
    assert.ok(shards.slice(0, -1).every((s) => s.tokens.length === 2000));

    const reference = get_encoding("gpt2");
    for (const split of ["train", "val"] as const) {
      const expected: number[] = [];
      for await (
        const doc of openDocuments(corpus, { split, holdout: { fraction: 0.1, seed: 0 } })
      ) {
        expected.push(50256, ...reference.encode_ordinary(doc));
      }
      assert.deepEqual(await concatenated(join(one, `*_${split}_*.bin`)), expected, split);
      assert.equal((split === "train" ? r1.train : r1.val).tokens, expected.length);
    }
    assert.equal(JSON.parse(await Deno.readTextFile(join(one, "meta.json"))).eot, 50256);
    assert.equal(
      Tokenizer.fromJSON(JSON.parse(await Deno.readTextFile(join(one, "tokenizer.json"))))
        .vocabSize,
      50257,
    );
  });
});

Deno.test("pretokenize: --max-length cuts documents; uint32 shards past 65,536 ids", async () => {
  await withCorpus(async (dir, corpus) => {
    const cut = await pretokenizeDataset({
      dataset: corpus,
      tokenizer: "gpt2",
      outDir: join(dir, "cut"),
      workers: 1,
      maxLength: 8,
    });
    const tokens = await concatenated(join(dir, "cut", "*_train_*.bin"));
    const starts = tokens.flatMap((t, i) => t === 50256 ? [i] : []);
    assert.equal(starts.length, cut.train.documents);
    starts.forEach((s, k) => assert.ok((starts[k + 1] ?? tokens.length) - s <= 8));

    // A vocabulary whose special token sits above 65,535 needs 32-bit shards.
    const small = (await trainTokenizer(["hello world"], { vocabSize: 260 })).toJSON();
    small.added_tokens[0].id = 70_000;
    small.model.vocab["<|endoftext|>"] = 70_000;
    const path = join(dir, "big.json");
    await Deno.writeTextFile(path, JSON.stringify(small));
    await pretokenizeDataset({
      dataset: corpus,
      tokenizer: path,
      outDir: join(dir, "big"),
      workers: 1,
    });
    const [shard] = await loadShards(join(dir, "big", "*_val_*.bin"));
    assert.ok(shard.tokens instanceof Uint32Array);
    assert.equal(shard.tokens[0], 70_000);
  });
});

Deno.test("pretokenize: refuses an existing output folder and leaves nothing on failure", async () => {
  await withCorpus(async (dir, corpus) => {
    await Deno.mkdir(join(dir, "exists"));
    await assert.rejects(
      () => pretokenizeDataset({ dataset: corpus, tokenizer: "gpt2", outDir: join(dir, "exists") }),
      /already exists/,
    );
    await assert.rejects(
      () =>
        pretokenizeDataset({
          dataset: join(dir, "nope.txt"),
          tokenizer: "gpt2",
          outDir: join(dir, "x"),
          workers: 2,
        }),
      UserError,
    );
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(names, ["exists", "shakespeare.txt"]);
  });
});
