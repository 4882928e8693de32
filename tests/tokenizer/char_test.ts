import assert from "node:assert/strict";
import { CharTokenizer } from "../../src/tokenizer/char.ts";

const SHAKESPEARE = new URL("../../../shared/data/tinyshakespeare.txt", import.meta.url);

Deno.test("char vocabulary of tinyshakespeare matches nanoGPT's prepare.py (65 chars)", async () => {
  const text = await Deno.readTextFile(SHAKESPEARE);
  const tok = CharTokenizer.fromText(text);
  // nanoGPT: "all the unique characters: \n !$&',-.3:;?ABC…xyz", vocab size 65
  assert.equal(
    tok.chars.join(""),
    "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
  );
  const ids = tok.encode("hii there");
  assert.deepEqual([...ids], [46, 47, 47, 1, 58, 46, 43, 56, 43]); // nanoGPT's stoi
  assert.equal(tok.decode(ids), "hii there");
});

Deno.test("code points outside the BMP are one character each, sorted by code point", () => {
  const tok = CharTokenizer.fromText("b😀a\u00e9a");
  assert.deepEqual(tok.chars, ["a", "b", "\u00e9", "😀"]);
  assert.deepEqual([...tok.encode("😀é")], [3, 2]);
  assert.throws(() => tok.encode("z"), /not in the character vocabulary/);
});

Deno.test("tokenizer.json round-trips the vocabulary", () => {
  const tok = CharTokenizer.fromText("hello world\n");
  const back = CharTokenizer.fromTokenizerJson(tok.toTokenizerJson());
  assert.deepEqual(back.chars, tok.chars);
});

Deno.test("Hugging Face tokenizers (Rust) loads the char tokenizer.json: same ids, exact decode", async () => {
  const { Tokenizer } = await import("tokenizers");
  const text = "hii there\nFirst Citizen!\r\n\t😀é";
  const tok = CharTokenizer.fromText(text + "abc");
  const hf = Tokenizer.fromString(tok.toTokenizerJson());
  const enc = await hf.encode(text);
  assert.deepEqual(enc.getIds(), [...tok.encode(text)]);
  assert.equal(await hf.decode(enc.getIds(), false), text);
});
