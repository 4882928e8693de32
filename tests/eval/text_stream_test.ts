import assert from "node:assert/strict";
import { bpeCodec, idCodec } from "../../src/eval/codec.ts";
import { TextStream } from "../../src/eval/text_stream.ts";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";

Deno.test("text stream: byte-level tokens that split a character are held until it is whole", async () => {
  const codec = bpeCodec(await Tokenizer.load("gpt2"));
  const context = codec.encode("Say:");
  const ids = codec.encode(" 日本語 naïve ✓");
  // GPT-2 has no token for these characters: their UTF-8 bytes spread over several tokens.
  assert.ok(ids.some((id) => codec.decode([id]).includes("\uFFFD")));
  const writes: string[] = [];
  const stream = new TextStream(codec, context, (t) => writes.push(t), true);
  for (const id of ids) stream.push(id);
  stream.finish();
  assert.equal(writes[0], "Say:");
  assert.ok(writes.every((w) => !w.includes("\uFFFD")), JSON.stringify(writes));
  assert.equal(writes.join(""), "Say: 日本語 naïve ✓\n");
  assert.ok(writes.length > 3, "text arrived in pieces");
});

Deno.test("text stream: integer ids keep their separators; no echo for chat replies", () => {
  const codec = idCodec(4, { bos: 3 });
  const writes: string[] = [];
  const stream = new TextStream(codec, [3, 0], (t) => writes.push(t), false);
  stream.push(1);
  stream.push(2);
  stream.finish("");
  assert.deepEqual(writes, [" 1", " 2", ""]);
});
