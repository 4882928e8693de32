/** Embedding lookup with a deterministic scatter-add backward (shaders/embedding.wgsl). */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { formatShape, Tensor } from "../tensor.ts";

const WORKGROUP = 256;
const forwardKernel = defineKernel({
  shader: "embedding",
  entryPoint: "embedding_forward",
  uniforms: [["rows", "u32"], ["cols", "u32"], ["vocab", "u32"]],
});
const keysKernel = defineKernel({
  shader: "embedding",
  entryPoint: "make_keys",
  uniforms: [["rows", "u32"], ["padded", "u32"], ["vocab", "u32"]],
});
const stageKernel = defineKernel({
  shader: "embedding",
  entryPoint: "bitonic_stage",
  uniforms: [["padded", "u32"], ["j", "u32"], ["k", "u32"]],
});
const bucketsKernel = defineKernel({
  shader: "embedding",
  entryPoint: "embedding_backward_buckets",
  uniforms: [["unique", "u32"], ["cols", "u32"]],
});
const backwardKernel = defineKernel({
  shader: "embedding",
  entryPoint: "embedding_backward",
  uniforms: [["rows", "u32"], ["cols", "u32"]],
});

/**
 * `table[ids]`: ids (i32 or u32, any shape) index rows of `table` [V, C]; the result has shape
 * [...ids.shape, C]. Ids outside [0, V) give zero rows and no gradient.
 *
 * Backward sums each id's rows in position order, so repeated ids get exact, run-to-run
 * identical gradients (no float atomics): the rows are bucketed by id on the host when the ids
 * were written from there (one dispatch), else sorted on the GPU.
 */
export function embedding(ids: Tensor, table: Tensor): Tensor {
  checkInputs("embedding", ids, table);
  if (ids.dtype !== "i32" && ids.dtype !== "u32") {
    throw new Error(`embedding: ids must be i32 or u32, got ${ids.dtype}`);
  }
  if (table.shape.length !== 2) {
    throw new Error(`embedding: table must be [V, C], got ${formatShape(table.shape)}`);
  }
  const [vocab, cols] = table.shape;
  const rows = ids.size;
  const dev = ids.device;
  const out = Tensor.empty(dev, [...ids.shape, cols]);
  forwardKernel.dispatch(dev, {
    bindings: [ids, table, out],
    uniforms: { rows, cols, vocab },
    workgroups: grid1d(rows * cols, WORKGROUP),
  });
  const host = ids.hostValues;
  return recordOp("embedding", out, [ids, table], (g) => {
    const dtable = Tensor.zeros(dev, table.shape);
    if (host !== null) {
      const { buckets, unique } = bucketRows(host, vocab);
      if (unique > 0) {
        const meta = Tensor.fromArray(dev, buckets, [buckets.length], { dtype: "u32" });
        bucketsKernel.dispatch(dev, {
          bindings: [meta, g, dtable],
          uniforms: { unique, cols },
          workgroups: grid1d(unique * cols, WORKGROUP),
        });
        meta.release();
      }
      return [null, dtable];
    }
    const padded = 2 ** Math.ceil(Math.log2(Math.max(rows, 1)));
    const keys = Tensor.empty(dev, [padded, 2], { dtype: "u32" });
    keysKernel.dispatch(dev, {
      bindings: [ids, keys],
      uniforms: { rows, padded, vocab },
      workgroups: grid1d(padded, WORKGROUP),
    });
    for (let k = 2; k <= padded; k *= 2) {
      for (let j = k / 2; j >= 1; j /= 2) {
        stageKernel.dispatch(dev, {
          bindings: [keys],
          uniforms: { padded, j, k },
          workgroups: grid1d(padded, WORKGROUP),
        });
      }
    }
    backwardKernel.dispatch(dev, {
      bindings: [keys, g, dtable],
      uniforms: { rows, cols },
      workgroups: grid1d(rows * cols, WORKGROUP),
    });
    keys.release();
    return [null, dtable];
  });
}

/**
 * Rows grouped by id, for `embedding_backward_buckets`: `starts[unique + 1] ++ ids[unique] ++
 * rows`, ids ascending, rows ascending within an id (a counting sort, O(rows + vocab)). Ids
 * outside [0, vocab) get no bucket.
 */
export function bucketRows(
  ids: ArrayLike<number>,
  vocab: number,
): { buckets: Uint32Array; unique: number } {
  const counts = new Uint32Array(vocab);
  let valid = 0;
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id >= 0 && id < vocab) {
      counts[id]++;
      valid++;
    }
  }
  let unique = 0;
  for (let v = 0; v < vocab; v++) if (counts[v] > 0) unique++;
  const buckets = new Uint32Array(2 * unique + 1 + valid);
  const next = new Uint32Array(vocab); // where id v's next row goes, in rows[]
  let u = 0;
  let start = 0;
  for (let v = 0; v < vocab; v++) {
    if (counts[v] === 0) continue;
    buckets[u] = start;
    buckets[unique + 1 + u] = v;
    next[v] = start;
    start += counts[v];
    u++;
  }
  buckets[unique] = start;
  const rowsBase = 2 * unique + 1;
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id >= 0 && id < vocab) buckets[rowsBase + next[id]++] = r;
  }
  return { buckets, unique };
}
