import assert from "node:assert/strict";
import {
  defaultMatmulTuning,
  tileIsCorrect,
  type TuneCache,
  tuneKey,
  tuneMatmul,
} from "../../src/gpu/autotune.ts";
import {
  MATMUL_TILES,
  tilesWithinLimits,
  tileThreads,
  tileWorkgroupBytes,
} from "../../src/gpu/matmul_tiles.ts";
import { type Gemm, type GemmPlan, planGemm, recordGemm } from "../../src/tensor/ops/matmul.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { f32, gpuTest, randomArray } from "../tensor/_helpers.ts";
import type { Device } from "../../src/gpu/device.ts";

/** WebGPU's default limits (what a browser or macOS device grants without asking). */
const DEFAULT_LIMITS = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
};

Deno.test("every tile fits WebGPU's default limits; smaller devices drop the big tiles", () => {
  assert.deepEqual(tilesWithinLimits(DEFAULT_LIMITS), [...MATMUL_TILES]);
  for (const t of MATMUL_TILES) {
    assert.ok(tileWorkgroupBytes(t) <= 16384 && tileThreads(t) <= 256, t.name);
  }
  const small = tilesWithinLimits({ ...DEFAULT_LIMITS, maxComputeWorkgroupStorageSize: 8192 });
  assert.deepEqual(small.map((t) => t.name), ["64x64", "32x32"]);
  const narrow = tilesWithinLimits({ ...DEFAULT_LIMITS, maxComputeInvocationsPerWorkgroup: 128 });
  assert.deepEqual(narrow.map((t) => t.name), ["32x32"]);
});

Deno.test("planGemm: tiles fill the adapter, split-K only when tiles cannot", () => {
  const big = { batch: 1, M: 16384, N: 1536, K: 384 };
  assert.equal((planGemm(big, MATMUL_TILES, 264, true).tile as { name: string }).name, "128x128");
  // A weight gradient (few tiles, long k) on a GPU holding 264 workgroups: split k.
  const wgrad = { batch: 1, M: 384, N: 1536, K: 16384 };
  const gpu = planGemm(wgrad, MATMUL_TILES, 264, true);
  assert.equal((gpu.tile as { name: string }).name, "128x128");
  assert.equal(gpu.splits, 8); // ceil(264 / 36 tiles)
  assert.equal(planGemm(wgrad, MATMUL_TILES, 2, true).splits, 1); // two CPU cores: 36 tiles
  assert.equal(planGemm(wgrad, MATMUL_TILES, 264, false).splits, 1); // bias epilogue: no split
  // Per-head products waste a 128 tile: a smaller one.
  const head = { batch: 384, M: 64, N: 64, K: 64 };
  assert.equal((planGemm(head, MATMUL_TILES, 2, true).tile as { name: string }).name, "64x64");
  assert.equal(planGemm({ batch: 1, M: 3, N: 500, K: 64 }, MATMUL_TILES, 2, true).tile, "rows");
});

function product(dev: Device, g: Gemm, plan: GemmPlan, seed: number): Promise<Float32Array> {
  const a = Tensor.fromArray(dev, f32(randomArray(g.batch * g.M * g.K, seed)), [
    g.batch,
    g.M * g.K,
  ]);
  const b = Tensor.fromArray(dev, f32(randomArray(g.batch * g.K * g.N, seed + 1)), [
    g.batch,
    g.K * g.N,
  ]);
  const c = Tensor.empty(dev, [g.batch, g.M, g.N]);
  recordGemm(c, a, b, g, { plan });
  const out = c.toArray() as Promise<Float32Array>;
  out.finally(() => [a, b, c].forEach((t) => t.release()));
  return out;
}

gpuTest(
  "which choices may differ: every tile (and the few-row kernel) is bit-identical; split-K " +
    "changes only rounding, within K·2⁻²³ of the products' magnitude",
  async (dev) => {
    // Ragged edges, k not a multiple of the stage, a dimension that is not a multiple of 4.
    for (const [transA, transB] of [[false, true], [false, false], [true, false], [true, true]]) {
      for (const [M, K, N] of [[200, 302, 130], [67, 45, 101]]) {
        const g: Gemm = {
          batch: 1,
          M,
          N,
          K,
          transA,
          transB,
          strideA: M * K,
          strideB: K * N,
        };
        const what = `M=${M} K=${K} N=${N} transA=${transA} transB=${transB}`;
        const first = await product(dev, g, { tile: MATMUL_TILES[0], splits: 1 }, M);
        for (const tile of MATMUL_TILES.slice(1)) {
          const other = await product(dev, g, { tile, splits: 1 }, M);
          assert.deepEqual(other, first, `${tile.name} vs ${MATMUL_TILES[0].name}, ${what}`);
        }
        // |a|, |b| < 1: each product term is < 1, so a sum of K terms moves by ≤ K·2⁻²³.
        const bound = K * 2 ** -23 * 4;
        for (const splits of [2, 3]) {
          const split = await product(dev, g, { tile: MATMUL_TILES[2], splits }, M);
          let worst = 0;
          for (let i = 0; i < first.length; i++) {
            worst = Math.max(worst, Math.abs(split[i] - first[i]));
          }
          assert.ok(worst <= bound, `split ${splits}: ${worst} > ${bound}, ${what}`);
        }
      }
    }
    // Few rows: the one-column-per-thread kernel walks k in the same order.
    const rows: Gemm = {
      batch: 2,
      M: 5,
      N: 70,
      K: 33,
      transA: false,
      transB: true,
      strideA: 5 * 33,
      strideB: 33 * 70,
    };
    assert.deepEqual(
      await product(dev, rows, { tile: "rows", splits: 1 }, 9),
      await product(dev, rows, { tile: MATMUL_TILES[3], splits: 1 }, 9),
    );
  },
);

gpuTest("a candidate must compute the right product before it may win", async (dev) => {
  for (const tile of MATMUL_TILES) assert.ok(await tileIsCorrect(dev, tile), tile.name);
  // A stage depth that is not a multiple of 4 skips k values: the check must catch it.
  const broken = { name: "broken", BM: 32, BN: 32, BK: 6, TM: 4, TN: 4 };
  assert.equal(await tileIsCorrect(dev, broken), false);
});

function memoryCache(): TuneCache & { entries: Map<string, number>; writes: number } {
  const c = {
    entries: new Map<string, number>(),
    writes: 0,
    get: (key: string) => Promise.resolve(c.entries.get(key)),
    set: (key: string, value: number) => {
      c.entries.set(key, value);
      c.writes++;
      return Promise.resolve();
    },
  };
  return c;
}

gpuTest("tuning is measured once per adapter + implementation + kernel version", async (dev) => {
  const cache = memoryCache();
  const first = await tuneMatmul(dev, cache);
  assert.equal(first.source, "measured");
  assert.equal(first.concurrency, defaultMatmulTuning(dev).concurrency); // CPU adapter: cores
  const key = tuneKey(dev);
  assert.deepEqual([...cache.entries.keys()].sort(), [`${key}|concurrency`, `${key}|tile`]);
  assert.match(key, /\|v\d+\|wg\d+$/);
  const again = await tuneMatmul(dev, cache);
  assert.equal(again.source, "cache");
  assert.equal(cache.writes, 2);
  assert.deepEqual(again.tiles, first.tiles);
  // A planted choice is read back: the menu starts at it.
  cache.entries.set(`${key}|tile`, MATMUL_TILES.findIndex((t) => t.name === "64x64"));
  cache.entries.set(`${key}|concurrency`, 7);
  const planted = await tuneMatmul(dev, cache);
  assert.deepEqual(planted.tiles.map((t) => t.name), ["64x64", "32x32"]);
  assert.equal(planted.concurrency, 7);
  // A stale or unusable entry is re-measured.
  cache.entries.set(`${key}|tile`, 99);
  assert.equal((await tuneMatmul(dev, cache)).source, "measured");
});
