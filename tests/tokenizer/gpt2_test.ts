import assert from "node:assert/strict";
import { Tokenizer as HfJsTokenizer } from "@huggingface/tokenizers";
import { get_encoding } from "tiktoken";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";
import { CORPUS_FILES, randomText, seededRandom, TORTURE_TEXT } from "./_support/texts.ts";

const tok = await Tokenizer.load("gpt2");
// tiktoken's wasm build of OpenAI's Rust encoder is the reference.
const reference = get_encoding("gpt2");

function assertSameIds(text: string, what: string): void {
  const ours = tok.encodeOrdinary(text);
  const theirs = reference.encode_ordinary(text);
  if (ours.length === theirs.length && ours.every((id, i) => id === theirs[i])) return;
  const at = ours.findIndex((id, i) => id !== theirs[i]);
  assert.fail(
    `${what}: ids differ at ${at}: ours ${ours.slice(at, at + 5)} tiktoken ` +
      `${theirs.slice(at, at + 5)} (lengths ${ours.length} vs ${theirs.length})`,
  );
}

Deno.test("GPT-2 ids equal tiktoken's on every shared corpus", async () => {
  for (const path of CORPUS_FILES) {
    const text = await Deno.readTextFile(path);
    assertSameIds(text, path);
    assert.equal(tok.decode(tok.encode(text)), text, path);
  }
});

Deno.test("GPT-2 ids equal tiktoken's on unicode torture text", () => {
  assertSameIds(TORTURE_TEXT, "torture");
  for (const line of TORTURE_TEXT.split("\n")) assertSameIds(line, JSON.stringify(line));
  assert.equal(tok.decode(tok.encode(TORTURE_TEXT)), TORTURE_TEXT);
});

Deno.test("GPT-2 ids equal tiktoken's on random strings, lone surrogates included", () => {
  const random = seededRandom(11);
  for (let i = 0; i < 2000; i++) assertSameIds(randomText(random, 30), `random #${i}`);
});

Deno.test("decode(encode(x)) is x, with lone surrogates as U+FFFD", () => {
  const random = seededRandom(5);
  for (let i = 0; i < 2000; i++) {
    const text = randomText(random, 30);
    assert.equal(tok.decode(tok.encode(text)), text.toWellFormed(), JSON.stringify(text));
  }
  assert.equal(tok.decode(tok.encode("a\ud800b")), "a\ufffdb");
});

Deno.test("GPT-2 known ids and <|endoftext|>", () => {
  assert.deepEqual(Array.from(tok.encode("Hello world")), [15496, 995]);
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eotId, 50256);
  assert.deepEqual(Array.from(tok.encode("a<|endoftext|>b")), [64, 50256, 65]);
  assert.deepEqual(
    Array.from(tok.encodeOrdinary("<|endoftext|>")),
    Array.from(
      reference.encode_ordinary("<|endoftext|>"),
    ),
  );
  assert.equal(tok.decode([50256]), "<|endoftext|>");
  assert.throws(() => tok.decode([50257]), RangeError);
});

Deno.test("recovered GPT-2 merge list starts with GPT-2's first merges", () => {
  const merges = tok.merges();
  assert.equal(merges.length, 50000);
  const show = (id: number) => new TextDecoder().decode(tok.tokenBytes(id));
  // GPT-2's merges.txt begins "Ġ t", "Ġ a", "h e", "i n", "r e".
  assert.deepEqual(merges.slice(0, 5).map(([a, b]) => show(a) + "|" + show(b)), [
    " |t",
    " |a",
    "h|e",
    "i|n",
    "r|e",
  ]);
});

Deno.test("GPT-2's tokenizer.json loads in Hugging Face's JS loader with tiktoken's ids", async () => {
  const hf = new HfJsTokenizer(JSON.parse(JSON.stringify(tok.toJSON())), {});
  const text = (await Deno.readTextFile(CORPUS_FILES[2])).slice(0, 50_000) + TORTURE_TEXT;
  assert.deepEqual(hf.encode(text).ids, Array.from(reference.encode_ordinary(text)));
});
