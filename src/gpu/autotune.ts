/**
 * Once-per-adapter tuning of the matmul kernels: which tile of the menu (src/gpu/matmul_tiles.ts)
 * is preferred for large products, and how many workgroups the adapter runs at once (split-K
 * aims for that many). Candidates are the tiles within the device's limits; each is timed with
 * timestamp queries when the adapter has them (wall clock around a wait otherwise) and checked
 * against a float64 CPU product before it may win. The choice is cached by adapter, WebGPU
 * implementation and kernel version through a cache the caller injects (src/util/tune_cache_file.ts
 * for Deno; none in a browser, which keeps the defaults).
 *
 * Every tile gives bit-identical products (see shaders/matmul.wgsl), so tuning cannot break
 * reproducible runs; only the split-K count, which follows the concurrency, changes rounding.
 */

import type { Device } from "./device.ts";
import { defineKernel } from "./kernel.ts";
import { STORAGE_USAGE } from "./buffer_pool.ts";
import {
  MATMUL_TILES,
  type MatmulTile,
  tileConstants,
  tileNamed,
  tilesWithinLimits,
  tileThreads,
} from "./matmul_tiles.ts";
import type { BufferRegion } from "./recorder.ts";

/** Bump when the kernels change, so stale choices are re-measured. */
export const KERNEL_VERSION = 2;
/** Workgroups assumed to run at once on a GPU that was not measured (a mid-size GPU). */
export const DEFAULT_GPU_CONCURRENCY = 256;

/** The uniform block of `shaders/matmul.wgsl`, shared by the matmul ops and this tuner. */
export const MATMUL_UNIFORMS = [
  ["M", "u32"],
  ["N", "u32"],
  ["K", "u32"],
  ["stride_a", "u32"],
  ["stride_b", "u32"],
  ["stride_c", "u32"],
  ["alpha", "f32"],
  ["splits", "u32"],
  ["k_chunk", "u32"],
  ["vec_a", "u32"],
  ["vec_b", "u32"],
] as const;

/**
 * Where tuning results persist between processes. The engine never touches files itself: Deno
 * callers pass the user-cache-dir file (src/util/tune_cache_file.ts), a browser may pass
 * localStorage, and without one the result lives only as long as the device.
 */
export interface TuneCache {
  get(key: string): Promise<number | undefined>;
  set(key: string, value: number): Promise<void>;
}

/** What the matmul ops use to choose kernels on a device. */
export interface MatmulTuning {
  /** Tiles to choose from, largest first, starting at the tuned preference. */
  readonly tiles: readonly MatmulTile[];
  /** Workgroups the adapter runs at once. */
  readonly concurrency: number;
  /** Where the values came from. */
  readonly source: "default" | "cache" | "measured";
}

/**
 * The untuned choice: every tile within the device's limits; one workgroup per CPU core on a
 * software adapter, `DEFAULT_GPU_CONCURRENCY` on a GPU.
 */
export function defaultMatmulTuning(dev: Device): MatmulTuning {
  const tiles = tilesWithinLimits(dev.limits);
  if (tiles.length === 0) throw new Error("no matmul tile fits this device's limits");
  return { tiles, concurrency: cpuConcurrency(dev) ?? DEFAULT_GPU_CONCURRENCY, source: "default" };
}

function cpuConcurrency(dev: Device): number | null {
  return dev.isCpuAdapter ? Math.max(1, navigator.hardwareConcurrency || 1) : null;
}

/**
 * The cache key: adapter identity, the WebGPU implementation (user agent), the kernel version
 * and the workgroup-memory limit (a default-limits device has its own menu).
 */
export function tuneKey(dev: Device): string {
  const i = dev.adapterInfo;
  const impl = typeof navigator !== "undefined" ? navigator.userAgent : "";
  const limit = `wg${dev.limits.maxComputeWorkgroupStorageSize}`;
  return [i.vendor, i.architecture, i.device, dev.description, impl, `v${KERNEL_VERSION}`, limit]
    .join("|");
}

/**
 * The tuning for this device: read from `cache`, or measured now (a second or two) and stored
 * there (without a cache, measured every time).
 */
export async function tuneMatmul(dev: Device, cache?: TuneCache): Promise<MatmulTuning> {
  const usable = tilesWithinLimits(dev.limits);
  const key = tuneKey(dev);
  // Two entries: the preferred tile's index in the menu, and the concurrency.
  const [tileIndex, cached] = await Promise.all([
    cache?.get(`${key}|tile`).catch(() => undefined),
    cache?.get(`${key}|concurrency`).catch(() => undefined),
  ]);
  const hit = tileIndex === undefined ? undefined : MATMUL_TILES[tileIndex];
  if (hit && usable.includes(hit) && Number.isInteger(cached) && cached! > 0) {
    return { tiles: fromPreferred(usable, hit), concurrency: cached!, source: "cache" };
  }
  const concurrency = cpuConcurrency(dev) ?? await measureConcurrency(dev);
  const tile = await fastestCorrectTile(dev, usable);
  // Read-only storage: tune again next time.
  await cache?.set(`${key}|tile`, MATMUL_TILES.indexOf(tile)).catch(() => {});
  await cache?.set(`${key}|concurrency`, concurrency).catch(() => {});
  return { tiles: fromPreferred(usable, tile), concurrency, source: "measured" };
}

function fromPreferred(usable: readonly MatmulTile[], preferred: MatmulTile): MatmulTile[] {
  return usable.slice(usable.indexOf(preferred));
}

/** Three storage buffers for an M×K · (N×K)ᵀ product (A, B as vec4, C), destroyed by the caller. */
function productBuffers(dev: Device, M: number, K: number, N: number, batchC = 1) {
  const sizes = [M * K, N * K, M * N * batchC].map((n) => Math.ceil((n * 4) / 16) * 16);
  const buffers = sizes.map((size) => dev.gpu.createBuffer({ size, usage: STORAGE_USAGE }));
  const regions: BufferRegion[] = buffers.map((buffer, i) => ({
    buffer,
    byteOffset: 0,
    byteLength: sizes[i],
  }));
  return { buffers, regions };
}

/** Records one `x · wᵀ` (NT) product with a given tile, raw (no tensors). */
function recordNT(
  dev: Device,
  tile: MatmulTile,
  regions: readonly BufferRegion[],
  M: number,
  K: number,
  N: number,
  batch = 1,
): void {
  defineKernel({
    shader: "matmul",
    entryPoint: "matmul_tiled",
    constants: {
      TRANS_A: 0,
      TRANS_B: 1,
      ACCUMULATE: 0,
      ...tileConstants(tile),
    },
    uniforms: MATMUL_UNIFORMS,
  }).dispatch(dev, {
    bindings: regions,
    uniforms: {
      M,
      N,
      K,
      stride_a: 0,
      stride_b: 0,
      stride_c: M * N,
      alpha: 1,
      splits: 1,
      k_chunk: K,
      vec_a: Number(K % 4 === 0),
      vec_b: Number(K % 4 === 0),
    },
    workgroups: [Math.ceil(N / tile.BN), Math.ceil(M / tile.BM), batch],
  });
}

/** Deterministic values in [-1, 1) that are exact in f32 (multiples of 1/1024). */
function testValues(n: number, seed: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 22) - 512) / 512;
  }
  return out;
}

/**
 * Whether `tile` computes a ragged NT product (every edge partial, k not a multiple of the
 * stage) within f32 rounding of a float64 CPU product. A candidate must pass before it may win.
 */
export async function tileIsCorrect(dev: Device, tile: MatmulTile): Promise<boolean> {
  const [M, K, N] = [tile.BM + 3, 2 * tile.BK + 4, tile.BN + 5];
  const a = testValues(M * K, 1);
  const b = testValues(N * K, 2);
  const { buffers, regions } = productBuffers(dev, M, K, N);
  try {
    dev.flush();
    dev.gpu.queue.writeBuffer(buffers[0], 0, a);
    dev.gpu.queue.writeBuffer(buffers[1], 0, b);
    recordNT(dev, tile, regions, M, K, N);
    const c = new Float32Array(await dev.readback({ ...regions[2], byteLength: M * N * 4 }));
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
        if (!(Math.abs(c[m * N + n] - s) <= 1e-4 * (1 + Math.abs(s)))) return false;
      }
    }
    return true;
  } finally {
    buffers.forEach((x) => x.destroy());
  }
}

/**
 * Milliseconds of GPU time for the work `record` adds: timestamp queries around one compute
 * pass when the device has them, else wall clock around a submit and wait (≥ 10 ms floor on
 * some implementations, so `record` should carry enough work).
 */
export async function timeGpu(dev: Device, record: () => void): Promise<number> {
  dev.flush();
  if (!dev.hasTimestamps) {
    const t0 = performance.now();
    record();
    await dev.sync();
    return performance.now() - t0;
  }
  const querySet = dev.gpu.createQuerySet({ type: "timestamp", count: 2 });
  const resolve = dev.gpu.createBuffer({
    size: 16,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  try {
    dev.recorder.beginTimedPass(querySet);
    record();
    dev.recorder.copyEncoder().resolveQuerySet(querySet, 0, 2, resolve, 0);
    const ticks = new BigUint64Array(
      await dev.readback({ buffer: resolve, byteOffset: 0, byteLength: 16 }),
    );
    return Number(ticks[1] - ticks[0]) / 1e6;
  } finally {
    querySet.destroy();
    resolve.destroy();
  }
}

/** Times each usable tile on an NT product, fastest correct wins (ties → the larger tile). */
async function fastestCorrectTile(dev: Device, usable: readonly MatmulTile[]): Promise<MatmulTile> {
  const size = dev.isCpuAdapter ? 256 : 2048;
  const reps = dev.isCpuAdapter ? 2 : 5;
  const { buffers, regions } = productBuffers(dev, size, size, size);
  const best = new Map<MatmulTile, number>();
  try {
    for (const tile of usable) {
      if (!(await tileIsCorrect(dev, tile))) continue;
      for (let round = 0; round < 3; round++) {
        const ms = await timeGpu(dev, () => {
          for (let r = 0; r < reps; r++) recordNT(dev, tile, regions, size, size, size);
        });
        // Round 0 compiles the pipeline; only later rounds count.
        if (round > 0) best.set(tile, Math.min(best.get(tile) ?? Infinity, ms));
      }
    }
  } finally {
    buffers.forEach((b) => b.destroy());
  }
  let pick: MatmulTile | null = null;
  for (const [tile, ms] of best) if (pick === null || ms < best.get(pick)! * 0.95) pick = tile;
  return pick ?? usable[usable.length - 1];
}

/**
 * Workgroups the adapter runs at once: a batch of w identical one-tile products takes about as
 * long as one until w passes what the GPU holds, then grows in waves. Returns the largest
 * power-of-two w whose time stays within 1.5× of a single workgroup's.
 */
export async function measureConcurrency(dev: Device, maxWorkgroups = 4096): Promise<number> {
  const tile = tileNamed("64x64")!;
  if (tileThreads(tile) > (dev.limits.maxComputeInvocationsPerWorkgroup ?? 256)) return 1;
  const K = 2048;
  const batchLimit = dev.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const top = Math.min(maxWorkgroups, batchLimit);
  const { buffers, regions } = productBuffers(dev, tile.BM, K, tile.BN, top);
  try {
    const time = async (w: number) => {
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        best = Math.min(best, await timeGpu(dev, () => recordNT(dev, tile, regions, 64, K, 64, w)));
      }
      return best;
    };
    await time(1); // compile
    const single = await time(1);
    let fits = 1;
    for (let w = 2; w <= top; w *= 2) {
      if ((await time(w)) > 1.5 * single) break;
      fits = w;
    }
    return fits;
  } finally {
    buffers.forEach((b) => b.destroy());
  }
}
