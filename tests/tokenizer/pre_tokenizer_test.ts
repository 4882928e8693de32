import assert from "node:assert/strict";
import { GPT2_SPLIT_REGEX, splitPieces } from "../../src/tokenizer/pre_tokenizer.ts";
import { randomText, seededRandom, TORTURE_TEXT } from "./_support/texts.ts";

function regexPieces(text: string): string[] {
  return Array.from(text.matchAll(GPT2_SPLIT_REGEX), (m) => m[0]);
}

Deno.test("scanner splits like GPT-2's regex on known cases", () => {
  assert.deepEqual(splitPieces("Hello world's  end\n\n x"), [
    "Hello",
    " world",
    "'s",
    " ",
    " end",
    "\n\n",
    " x",
  ]);
  assert.deepEqual(splitPieces("a   "), ["a", "   "]);
  assert.deepEqual(splitPieces("!'s 12ab"), ["!'", "s", " 12", "ab"]);
  // U+FEFF is not White_Space (tiktoken, HF), U+0085 is.
  assert.deepEqual(splitPieces("!\ufeff\ufeffb"), ["!\ufeff\ufeff", "b"]);
  assert.deepEqual(splitPieces("a\u0085\u0085b"), ["a", "\u0085", "\u0085", "b"]);
});

Deno.test("scanner equals the reference regex on torture text and random strings", () => {
  assert.deepEqual(splitPieces(TORTURE_TEXT), regexPieces(TORTURE_TEXT));
  const random = seededRandom(7);
  for (let i = 0; i < 3000; i++) {
    const text = randomText(random, 40);
    assert.deepEqual(splitPieces(text), regexPieces(text), JSON.stringify(text));
  }
});
