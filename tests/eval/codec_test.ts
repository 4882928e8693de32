import assert from "node:assert/strict";
import { CharVocab } from "../../src/data/synthetic/tasks/task.ts";
import {
  charCodec,
  checkIdsInVocab,
  codecFromTokenizerJson,
  idCodec,
  taskCodec,
} from "../../src/eval/codec.ts";
import { CharTokenizer } from "../../src/tokenizer/char.ts";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("codecs: char tokenizer.json, GPT-2 BPE tokenizer.json, task alphabet", async () => {
  const chars = CharTokenizer.fromText("hello world");
  const fromJson = codecFromTokenizerJson(chars.toTokenizerJson());
  assert.deepEqual(fromJson.encode("hello"), [...chars.encode("hello")]);
  assert.equal(fromJson.decode(fromJson.encode("low world")), "low world");
  assert.equal(fromJson.startId, null);
  assert.throws(() => charCodec(chars).encode("hex"), /character "x" is not in the character/);

  const gpt2 = await Tokenizer.load("gpt2");
  const bpe = codecFromTokenizerJson(JSON.stringify(gpt2.toJSON()));
  assert.deepEqual(bpe.encode("Hello world"), [15496, 995]); // GPT-2's own ids
  assert.equal(bpe.startId, 50256);
  assert.equal(bpe.endId, 50256);
  assert.equal(bpe.label(995), " world");
  assert.throws(() => codecFromTokenizerJson("{oops"), /not valid JSON/);

  const task = taskCodec(new CharVocab("0123456789 *#"));
  assert.deepEqual(task.encode("12 * 3"), [1, 2, 10, 11, 10, 3]);
  assert.equal(task.endId, 13);
  assert.equal(task.decode([1, 13]), "1⏎");
  assert.throws(() => task.encode("1+2"), UserError);
});

Deno.test("codecs: integer ids for processes (BOS/EOS names, packed digits)", () => {
  const ids = idCodec(5, { bos: 3, eos: 4 });
  assert.deepEqual(ids.encode("BOS 0 1, 2"), [3, 0, 1, 2]);
  assert.deepEqual(ids.encode("bos 0120"), [3, 0, 1, 2, 0]);
  assert.equal(ids.decode([3, 0, 2, 4]), "BOS 0 2 EOS");
  assert.equal(ids.startId, 3);
  assert.equal(ids.endId, 4);
  assert.throws(() => ids.encode("0 x"), /"x" is not a token id/);
  assert.deepEqual(idCodec(100).encode("12 7"), [12, 7]); // no digit packing past 10 ids
  assert.throws(() => checkIdsInVocab([0, 5], 5), /token id 5 is outside the model's vocabulary/);
  checkIdsInVocab([0, 4], 5);
});
