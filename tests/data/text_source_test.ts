import assert from "node:assert/strict";
import { createTextSource } from "../../src/data/text_source.ts";
import { CharTokenizer } from "../../src/tokenizer/char.ts";

const SHAKESPEARE = "../shared/data/tinyshakespeare.txt";
const ctx = { seed: 7, seqLen: 16, vocabSize: 65, batchSize: 4 };

Deno.test("text source: nanoGPT split sizes and windows that are corpus substrings", async () => {
  const source = await createTextSource(
    { dataset: SHAKESPEARE, tokenizer: "char", val_fraction: 0.1 },
    ctx,
  );
  // nanoGPT's prepare.py: "train has 1,003,854 tokens, val has 111,540 tokens"
  assert.equal(source.metadata.train_tokens, 1003854);
  assert.equal(source.metadata.val_tokens, 111540);
  assert.equal(source.vocabSize, 65);
  const text = await Deno.readTextFile(SHAKESPEARE);
  const tok = CharTokenizer.fromTokenizerJson(source.tokenizerJson);
  const trainText = text.slice(0, 1003854);
  const valText = text.slice(1003854);
  const batch = source.trainBatch(3, 4);
  for (let b = 0; b < 4; b++) {
    const x = batch.inputs.subarray(b * 16, b * 16 + 16);
    const y = batch.targets.subarray(b * 16, b * 16 + 16);
    assert.deepEqual([...y.subarray(0, 15)], [...x.subarray(1)]);
    assert.ok(trainText.includes(tok.decode(x) + tok.decode(y.subarray(15))));
  }
  const val = source.valBatch(0, 2);
  assert.ok(valText.includes(tok.decode(val.inputs.subarray(0, 16))));
});

Deno.test("text source: a batch depends only on (seed, index)", async () => {
  const data = { dataset: SHAKESPEARE, tokenizer: "char", val_fraction: 0.1 };
  const a = await createTextSource(data, ctx);
  const b = await createTextSource(data, ctx);
  const c = await createTextSource(data, { ...ctx, seed: 8 });
  assert.deepEqual(a.trainBatch(5, 4), b.trainBatch(5, 4));
  assert.notDeepEqual(a.trainBatch(5, 4).inputs, a.trainBatch(6, 4).inputs);
  assert.notDeepEqual(a.trainBatch(5, 4).inputs, c.trainBatch(5, 4).inputs);
  assert.notDeepEqual(a.trainBatch(0, 4).inputs, a.valBatch(0, 4).inputs);
});

Deno.test("text source: a missing corpus or tokenizer is a user error", async () => {
  await assert.rejects(
    () => createTextSource({ dataset: "nope.txt", tokenizer: "char", val_fraction: 0.1 }, ctx),
    /unknown dataset "nope.txt"/,
  );
  await assert.rejects(
    () =>
      createTextSource({ dataset: SHAKESPEARE, tokenizer: "nope.json", val_fraction: 0.1 }, ctx),
    /tokenizer not found: nope\.json/,
  );
});

Deno.test("text source: tokenizer gpt2 encodes with GPT-2's ids and carries its tokenizer.json", async () => {
  const source = await createTextSource(
    { dataset: SHAKESPEARE, tokenizer: "gpt2", val_fraction: 0.1 },
    ctx,
  );
  assert.equal(source.vocabSize, 50257);
  // "First Citizen" → GPT-2 ids 5962, 22307 (tiktoken / Hugging Face agree)
  const first = source.trainBatch(0, 1);
  assert.ok(first.inputs.every((id) => id >= 0 && id < 50257));
  const json = JSON.parse(source.tokenizerJson);
  assert.equal(json.model.type, "BPE");
  assert.equal(json.model.vocab["First"], 5962);
  assert.equal(json.model.vocab["ĠCitizen"], 22307);
  const total = Number(source.metadata.train_tokens) + Number(source.metadata.val_tokens);
  // nanoGPT's shakespeare prepare.py: 301,966 + 36,059 tokens (it splits the text, we the tokens)
  assert.ok(Math.abs(total - 338025) < 10, `${total} tokens`);
});
