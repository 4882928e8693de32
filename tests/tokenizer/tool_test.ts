/** Runs `tools/tokenize.ts` as a subprocess, as a user would. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";
import { assertOneLineError, type CommandOutput, runTool } from "../_support/cli.ts";

function tokenize(...args: string[]): Promise<CommandOutput> {
  return runTool("tokenize", args);
}

async function assertUserError(args: string[], message: RegExp, dir: string): Promise<void> {
  const before = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  assertOneLineError(await tokenize(...args), message);
  const after = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  assert.deepEqual(after, before, "nothing left behind");
}

Deno.test("tokenize: --help on every subcommand", async () => {
  for (const sub of ["", "analyze", "train", "pretokenize", "encode", "decode"]) {
    const r = await tokenize(...(sub ? [sub] : []), "--help");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: deno task tokenize/);
  }
});

Deno.test("tokenize: train file, encode, decode round trip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln-tokenize-" });
  try {
    const corpus = join(dir, "corpus.txt");
    const text = "The quick brown fox jumps over the lazy dog.\n\nÜber café naïve — 日本語 🎉\n";
    await Deno.writeTextFile(corpus, text.repeat(20));
    const out = join(dir, "tok.json");
    const r = await tokenize("train", "file", corpus, "300", "--out", out, "--special", "<|eot|>");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    const tok = await Tokenizer.load(out);
    assert.equal(tok.vocabSize, 300);
    assert.deepEqual(tok.specials, [{ id: 299, content: "<|eot|>" }]);
    const sample = join(dir, "sample.txt");
    await Deno.writeTextFile(sample, text);
    const enc = await tokenize("encode", out, sample, "--json");
    assert.equal(enc.code, 0, enc.stderr);
    assert.deepEqual(JSON.parse(enc.stdout), Array.from(tok.encode(text)));
    const ids = join(dir, "ids.json");
    await Deno.writeTextFile(ids, enc.stdout);
    const dec = await tokenize("decode", out, ids);
    assert.equal(dec.code, 0, dec.stderr);
    assert.equal(dec.stdout, text + "\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokenize: bad input is one line, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln-tokenize-" });
  try {
    const empty = join(dir, "empty.txt");
    await Deno.writeTextFile(empty, "\n\n  \n");
    const good = join(dir, "good.txt");
    await Deno.writeTextFile(good, "some words here\n");
    const parquet = join(dir, "wrong_column.parquet");
    await Deno.writeFile(
      parquet,
      new Uint8Array(parquetWriteBuffer({
        columnData: [{ name: "body", data: ["a document", "another"], type: "STRING" }],
      })),
    );
    const out = join(dir, "out.json");
    await assertUserError(["train", "file", empty, "300", "--out", out], /empty/, dir);
    await assertUserError(["train", "file", good, "256", "--out", out], /at least 256 \+ 1/, dir);
    await assertUserError(
      ["train", "file", join(dir, "missing.txt"), "300", "--out", out],
      /missing/,
      dir,
    );
    await assertUserError(["train", "file", parquet, "300", "--out", out], /text|column/, dir);
    await assertUserError(["encode", join(dir, "nope.json"), good], /tokenizer not found/, dir);
    await assertUserError(
      ["pretokenize", empty, "gpt2", "--out", join(dir, "shards")],
      /no training documents|empty/,
      dir,
    );
    await assertUserError(["frobnicate"], /unknown subcommand/, dir);
    await assertUserError(["train", "file", good, "x300", "--out", out], /integer/, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
