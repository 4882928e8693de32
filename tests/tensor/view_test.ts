import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, Tensor, tidy } from "../../src/tensor/tensor.ts";
import { gpuTest } from "./_helpers.ts";

gpuTest(
  "a misaligned view binds through an aligned copy: read as input, written as output",
  async (dev) => {
    const align = dev.limits.minStorageBufferOffsetAlignment;
    const n = 3 * align; // elements: room for an offset of one element past an aligned start
    const base = Tensor.fromArray(dev, Float32Array.from({ length: n }, (_, i) => i), [n]);
    const aligned = base.view(align / 4, [4]);
    assert.ok(aligned.bindable);
    const misaligned = base.view(1, [4]);
    assert.equal(misaligned.bindable, false);
    assert.deepEqual(
      [...(await misaligned.toArray())],
      [1, 2, 3, 4],
      "readback needs no alignment",
    );
    const doubled = tidy(() => noGrad(() => ops.scale(misaligned, 2)));
    assert.deepEqual([...(await doubled.toArray())], [2, 4, 6, 8]);
    // A kernel writing into a misaligned view (accumulate: read-modify-write) lands exactly there.
    noGrad(() => ops.accumulate(misaligned, doubled));
    const all = await base.toArray();
    assert.deepEqual([...all.slice(0, 6)], [0, 3, 6, 9, 12, 5], "neighbours untouched");
    const cloned = tidy(() => noGrad(() => ops.scale(misaligned.clone(), 2)));
    assert.deepEqual([...(await cloned.toArray())], [6, 12, 18, 24]);
    for (const t of [cloned, doubled, aligned, misaligned, base]) t.release();
  },
);
