import assert from "node:assert/strict";
import { Tokenizer as HfJsTokenizer } from "@huggingface/tokenizers";
import { BPE, byteLevelPreTokenizer, Tokenizer as HfRustTokenizer } from "tokenizers";
import { trainTokenizer } from "../../src/tokenizer/trainer.ts";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";
import { UserError } from "../../src/util/errors.ts";
import { CORPUS_FILES, randomText, seededRandom, TORTURE_TEXT } from "./_support/texts.ts";

/** A small mixed corpus: slices of every shared file (grimm brings its BOM and CRLFs). */
async function corpusSlice(bytesPerFile: number): Promise<string> {
  const texts = await Promise.all(CORPUS_FILES.map((f) => Deno.readTextFile(f)));
  return texts.map((t) => t.slice(0, bytesPerFile)).join("");
}

Deno.test("merges equal Hugging Face tokenizers' trainer (Rust) on the same lines", async () => {
  const text = await corpusSlice(40_000);
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(path, text);
    // The npm binding trains with BpeTrainer's defaults: 30,000 tokens, no special tokens,
    // alphabet = bytes seen, one sequence per line (newline included).
    const hf = new HfRustTokenizer(BPE.empty());
    hf.setPreTokenizer(byteLevelPreTokenizer(false, true));
    hf.train([path]);
    const hfJson = JSON.parse(
      await (async () => {
        const out = path + ".json";
        hf.save(out, false);
        const s = await Deno.readTextFile(out);
        await Deno.remove(out);
        return s;
      })(),
    );
    const theirs: [string, string][] = hfJson.model.merges;
    const lines = text.split(/(?<=\n)/);
    const ours = (await trainTokenizer(lines, { vocabSize: 30_000, specialTokens: [] })).toJSON()
      .model.merges;
    // The slice runs out of pairs before 30,000: both must stop at the same place, having
    // broken every tie among equal counts the same way.
    assert.ok(theirs.length > 1000 && theirs.length < 30_000 - 256, `${theirs.length}`);
    assert.equal(ours.length, theirs.length);
    const at = ours.findIndex((m, i) => m[0] !== theirs[i][0] || m[1] !== theirs[i][1]);
    assert.equal(at, -1, `first different merge #${at}: ${ours[at]} vs ${theirs[at]}`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("our tokenizer.json loads in Hugging Face's JS loader and gives our ids", async () => {
  const text = await corpusSlice(30_000);
  const tok = await trainTokenizer([text], { vocabSize: 1500 });
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  const hfJs = new HfJsTokenizer(json, {});
  const hfRust = HfRustTokenizer.fromString(JSON.stringify(json));
  const samples = [
    text.slice(0, 20_000),
    TORTURE_TEXT,
    "x<|endoftext|>y",
    "a\ufeff\ufeffb !\ufeff",
  ];
  const random = seededRandom(1);
  for (let i = 0; i < 200; i++) samples.push(randomText(random, 30).toWellFormed());
  for (const sample of samples) {
    const ours = Array.from(tok.encode(sample));
    assert.deepEqual(hfJs.encode(sample).ids, ours, JSON.stringify(sample.slice(0, 80)));
    const rust = await hfRust.encode(sample);
    assert.deepEqual(rust.getIds(), ours, JSON.stringify(sample.slice(0, 80)));
    assert.equal(tok.decode(ours), sample);
  }
});

Deno.test("layout: bytes, then merges, then special tokens; json parts round-trip", async () => {
  const tok = await trainTokenizer(["the cat sat on the mat. the end."], {
    vocabSize: 256 + 5 + 2,
    specialTokens: ["<|endoftext|>", "<|pad|>"],
  });
  assert.equal(tok.vocabSize, 263);
  assert.deepEqual(tok.specials, [
    { id: 261, content: "<|endoftext|>" },
    { id: 262, content: "<|pad|>" },
  ]);
  assert.equal(tok.eotId, 261);
  const json = tok.toJSON();
  assert.equal(json.model.vocab["!"], 0);
  // The 256 byte ids follow GPT-2's order ("Ġ", the space byte, is 220 there too).
  assert.equal(json.model.vocab["Ġ"], 220);
  // "at", "th" and "he" all occur 3 times; the tie goes to the lowest ids: a < h < t.
  assert.deepEqual(json.model.merges.slice(0, 3), [["a", "t"], ["h", "e"], ["t", "he"]]);
  assert.equal(json.model.merges.length, 5);
  const again = Tokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
  assert.deepEqual(again.toJSON(), json);
  assert.deepEqual(again.encode("the mat<|pad|>"), tok.encode("the mat<|pad|>"));
});

Deno.test("same input gives the same merges; min frequency stops early", async () => {
  const text = await corpusSlice(20_000);
  const a = (await trainTokenizer([text], { vocabSize: 800 })).toJSON();
  const b = (await trainTokenizer([text], { vocabSize: 800 })).toJSON();
  assert.deepEqual(a, b);
  const rare = await trainTokenizer([text], { vocabSize: 30_000, minFrequency: 50 });
  const all = await trainTokenizer([text], { vocabSize: 30_000 });
  assert.ok(rare.vocabSize < all.vocabSize);
  // Merges under a frequency floor are a prefix of the unconstrained run.
  assert.deepEqual(rare.merges(), all.merges().slice(0, rare.merges().length));
});

Deno.test("bad input: vocab too small, empty corpus", async () => {
  await assert.rejects(() => trainTokenizer(["abc"], { vocabSize: 256 }), UserError);
  await assert.rejects(
    () => trainTokenizer(["abc"], { vocabSize: 258, specialTokens: ["<a>", "<b>", "<c>"] }),
    /at least 256 \+ 3/,
  );
  await assert.rejects(() => trainTokenizer([], { vocabSize: 300 }), /empty/);
  await assert.rejects(() => trainTokenizer(["", ""], { vocabSize: 300 }), /empty/);
});
