import assert from "node:assert/strict";
import { createShardSource } from "../../src/data/shard_source.ts";
import { writeShard } from "../../src/data/shards.ts";

Deno.test("shard source: windows stay inside one shard and follow the token order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // shard k holds k*1000 + i, so a window's origin and contiguity are visible in its ids
    for (let k = 0; k < 3; k++) {
      const tokens = Array.from({ length: 50 + 20 * k }, (_, i) => k * 1000 + i);
      await writeShard(`${dir}/d_train_00000${k}.bin`, tokens, 4000);
    }
    await writeShard(
      `${dir}/d_val_000000.bin`,
      Array.from({ length: 40 }, (_, i) => 3000 + i),
      4000,
    );
    const ctx = { seed: 1, seqLen: 8, vocabSize: 4000, batchSize: 6 };
    const source = await createShardSource(
      { train: `${dir}/d_train_*.bin`, val: `${dir}/d_val_*.bin` },
      ctx,
    );
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const batch = source.trainBatch(i, 6);
      for (let b = 0; b < 6; b++) {
        const x = [...batch.inputs.subarray(b * 8, b * 8 + 8)];
        const y = [...batch.targets.subarray(b * 8, b * 8 + 8)];
        const shard = Math.floor(x[0] / 1000);
        seen.add(shard);
        assert.ok(shard < 3);
        x.forEach((t, j) => assert.equal(t, x[0] + j));
        y.forEach((t, j) => assert.equal(t, x[0] + j + 1));
        assert.ok(y[7] % 1000 < 50 + 20 * shard, "window ends inside its shard");
      }
    }
    assert.equal(seen.size, 3);
    assert.equal(Math.floor(source.valBatch(0, 2).inputs[0] / 1000), 3);
    assert.deepEqual(source.trainBatch(4, 6), source.trainBatch(4, 6));
    await assert.rejects(
      () =>
        createShardSource({ train: `${dir}/d_train_*.bin`, val: `${dir}/d_val_*.bin` }, {
          ...ctx,
          vocabSize: 100,
        }),
      /token id 3039, outside a vocabulary of 100: set model.vocab_size/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
