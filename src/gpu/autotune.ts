/**
 * Once-per-adapter tuning of the large matmul kernel's k-stage depth (`T8_BK` in
 * shaders/matmul.wgsl), cached where the caller says (a
 * {@link TuneCache}; Deno's tools use `$XDG_CACHE_HOME/kiln/` or `~/.cache/kiln/`). The depth changes only how k is staged through workgroup memory, never the
 * order of the per-output sums, so every choice gives bit-identical results: tuning cannot break
 * reproducible runs. `KILN_MATMUL_STAGE_DEPTH=16` forces a depth and skips tuning.
 */

import { hostEnv } from "../util/host_env.ts";
import type { Device } from "./device.ts";
import { defineKernel } from "./kernel.ts";
import { STORAGE_USAGE } from "./buffer_pool.ts";

/** Depths tried, best first when timings tie. */
export const STAGE_DEPTHS = [16, 8, 32] as const;
/** Used when tuning is impossible (no cache dir and no time) or as the first guess. */
export const DEFAULT_STAGE_DEPTH = 16;
/** Bump when the kernel changes, so stale choices are re-measured. */
const KERNEL_VERSION = 1;
const SIZE = 256;

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

/** The cache key: the adapter's identity, the kernel version and the workgroup-memory limit. */
function adapterKey(dev: Device): string {
  const i = dev.adapterInfo;
  return `${i.vendor}|${i.architecture}|${i.device}|${dev.description}|v${KERNEL_VERSION}|` +
    `wg${dev.limits.maxComputeWorkgroupStorageSize}`;
}

/** The depths whose shared tiles (two [depth][128] f32 tiles) fit the device's workgroup memory. */
export function allowedStageDepths(dev: Device): number[] {
  const limit = dev.limits.maxComputeWorkgroupStorageSize ?? 16384;
  return STAGE_DEPTHS.filter((d) => 2 * d * 128 * 4 <= limit);
}

/**
 * The stage depth for this adapter: forced by `KILN_MATMUL_STAGE_DEPTH`, read from `cache`, or
 * measured now (about a second on lavapipe) and stored there.
 */
export async function matmulStageDepth(dev: Device, cache?: TuneCache): Promise<number> {
  const allowed = allowedStageDepths(dev);
  const forced = Number(hostEnv("KILN_MATMUL_STAGE_DEPTH"));
  if (allowed.includes(forced)) return forced;
  const key = adapterKey(dev);
  const hit = await cache?.get(key).catch(() => undefined);
  if (hit !== undefined && allowed.includes(hit)) return hit;
  const best = await measure(dev, allowed);
  await cache?.set(key, best).catch(() => {/* read-only cache: tune again next time */});
  return best;
}

/** Times a 256³ product per depth, rounds interleaved; the fastest (ties → earlier) wins. */
async function measure(dev: Device, depths: readonly number[]): Promise<number> {
  const bytes = SIZE * SIZE * 4;
  const buffers = [0, 1, 2].map(() => dev.gpu.createBuffer({ size: bytes, usage: STORAGE_USAGE }));
  const region = (b: GPUBuffer) => ({ buffer: b, byteOffset: 0, byteLength: bytes });
  const run = depths.map((depth) => {
    const kernel = defineKernel({
      shader: "matmul",
      entryPoint: "matmul_8x8",
      constants: { TRANS_A: 0, TRANS_B: 1, ACCUMULATE: 0, T8_BK: depth },
      uniforms: MATMUL_UNIFORMS,
    });
    return () =>
      kernel.dispatch(dev, {
        bindings: buffers.map(region),
        uniforms: {
          M: SIZE,
          N: SIZE,
          K: SIZE,
          stride_a: 0,
          stride_b: 0,
          stride_c: 0,
          alpha: 1,
          splits: 1,
          k_chunk: SIZE,
        },
        workgroups: [SIZE / 128, SIZE / 128, 1],
      });
  });
  const best = depths.map(() => Infinity);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < run.length; i++) {
      const t0 = performance.now();
      run[i]();
      run[i]();
      await dev.sync();
      // Round 0 compiles the pipelines; only later rounds count.
      if (round > 0) best[i] = Math.min(best[i], performance.now() - t0);
    }
  }
  buffers.forEach((b) => b.destroy());
  let pick = 0;
  // Prefer the earlier (default) depth unless another is clearly (5%) faster.
  for (let i = 1; i < best.length; i++) if (best[i] < best[pick] * 0.95) pick = i;
  return depths[pick];
}
