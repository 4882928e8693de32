import assert from "node:assert/strict";
import { isValDocument, splitDocuments, takeDocuments } from "../../src/data/split.ts";

async function* numbered(n: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i++) yield `doc${i}`;
}

async function all(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test("holdout: train and val partition the documents, identically on every run", async () => {
  const holdout = { fraction: 0.1, seed: 7 };
  const train = await all(splitDocuments(numbered(20000), "train", holdout));
  const val = await all(splitDocuments(numbered(20000), "val", holdout));
  assert.equal(train.length + val.length, 20000);
  assert.equal(new Set([...train, ...val]).size, 20000);
  // Binomial(20000, 0.1): sd ≈ 42, so ±250 is a 6-sigma band.
  assert.ok(Math.abs(val.length - 2000) < 250, `val size ${val.length}`);
  assert.deepEqual(await all(splitDocuments(numbered(20000), "val", holdout)), val);
  const other = await all(splitDocuments(numbered(20000), "val", { fraction: 0.1, seed: 8 }));
  assert.notDeepEqual(other, val);
});

Deno.test("holdout: membership depends only on index and seed, not on how much is read", () => {
  const h = { fraction: 0.3, seed: 1 };
  const first = Array.from({ length: 100 }, (_, i) => isValDocument(i, h));
  const again = Array.from({ length: 100 }, (_, i) => isValDocument(i, h));
  assert.deepEqual(first, again);
  assert.equal(isValDocument(5, { fraction: 0, seed: 1 }), false);
  assert.equal(isValDocument(5, { fraction: 1, seed: 1 }), true);
  assert.ok(isValDocument(2 ** 40 + 3, h) === isValDocument(2 ** 40 + 3, h));
  assert.throws(() => isValDocument(0, { fraction: 1.5, seed: 0 }), RangeError);
});

Deno.test("takeDocuments: first N, and it stops pulling from the source", async () => {
  let pulled = 0;
  async function* counting() {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      yield `d${i}`;
    }
  }
  assert.deepEqual(await all(takeDocuments(counting(), 3)), ["d0", "d1", "d2"]);
  assert.equal(pulled, 3);
  assert.equal((await all(takeDocuments(numbered(5)))).length, 5);
  assert.deepEqual(await all(takeDocuments(numbered(5), 0)), []);
});
