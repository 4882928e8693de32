import assert from "node:assert/strict";
import { gpt2Parts } from "../../src/tokenizer/gpt2.ts";
import { BpeModel } from "../../src/tokenizer/bpe.ts";
import { decodeUtf8Strict, utf8EncodeInto } from "../../src/tokenizer/byte_level.ts";
import { randomText, seededRandom } from "./_support/texts.ts";

Deno.test("heap merge and scan merge give the same ids", () => {
  const parts = gpt2Parts();
  const model = new BpeModel(parts.tokens, parts.merges);
  const random = seededRandom(3);
  const bytes = new Uint8Array(4096);
  for (let i = 0; i < 500; i++) {
    const text = randomText(random, 60) + "aaaa".repeat(Math.floor(random() * 20));
    const n = utf8EncodeInto(text, 0, text.length, bytes);
    const a = new Int32Array(n);
    const b = new Int32Array(n);
    for (let k = 0; k < n; k++) a[k] = b[k] = model.byteToId[bytes[k]];
    const la = model.mergeByScan(a, n);
    const lb = model.mergeWithHeap(b, n);
    assert.deepEqual(a.subarray(0, la), b.subarray(0, lb), JSON.stringify(text));
  }
});

Deno.test("UTF-8 encoder matches TextEncoder; strict decoder matches a fatal TextDecoder", () => {
  const random = seededRandom(9);
  const out = new Uint8Array(1024);
  const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (let i = 0; i < 2000; i++) {
    const text = randomText(random, 30);
    const n = utf8EncodeInto(text, 0, text.length, out);
    assert.deepEqual(out.slice(0, n), new TextEncoder().encode(text));
    const junk = Uint8Array.from({ length: Math.floor(random() * 6) }, () => random() * 256);
    let expected: string | null;
    try {
      expected = fatal.decode(junk);
    } catch {
      expected = null;
    }
    assert.equal(decodeUtf8Strict(junk), expected, String(junk));
    assert.equal(decodeUtf8Strict(out.slice(0, n)), text.toWellFormed());
  }
});
