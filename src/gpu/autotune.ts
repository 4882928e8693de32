/**
 * Once-per-adapter tuning of the large matmul kernel's k-stage depth (`T8_BK` in
 * shaders/matmul.wgsl), cached in the user cache dir (`$XDG_CACHE_HOME/kiln/` or
 * `~/.cache/kiln/`). The depth changes only how k is staged through workgroup memory, never the
 * order of the per-output sums, so every choice gives bit-identical results: tuning cannot break
 * reproducible runs. `KILN_MATMUL_STAGE_DEPTH=16` forces a depth and skips tuning.
 */

import { writeJsonAtomic } from "../util/fs.ts";
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

/** Path of the tuning cache, or null when the environment names no home or cache dir. */
export function tuneCachePath(): string | null {
  try {
    const base = Deno.env.get("XDG_CACHE_HOME") ??
      (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : null);
    return base ? `${base}/kiln/matmul-tuning.json` : null;
  } catch {
    return null; // no --allow-env
  }
}

/** The cache key: the adapter's identity and the kernel version. */
function adapterKey(dev: Device): string {
  const i = dev.adapterInfo;
  return `${i.vendor}|${i.architecture}|${i.device}|${dev.description}|v${KERNEL_VERSION}`;
}

/**
 * The stage depth for this adapter: forced by the environment, read from the cache, or measured
 * now (about a second on lavapipe, once) and cached.
 */
export async function matmulStageDepth(dev: Device): Promise<number> {
  const forced = Number(safeEnv("KILN_MATMUL_STAGE_DEPTH"));
  if ((STAGE_DEPTHS as readonly number[]).includes(forced)) return forced;
  const path = tuneCachePath();
  const key = adapterKey(dev);
  let cache: Record<string, number> = {};
  if (path) {
    try {
      cache = JSON.parse(await Deno.readTextFile(path));
      const hit = cache[key];
      if ((STAGE_DEPTHS as readonly number[]).includes(hit)) return hit;
    } catch { /* no cache yet */ }
  }
  const best = await measure(dev);
  if (path) {
    try {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await writeJsonAtomic(path, { ...cache, [key]: best });
    } catch { /* read-only home: tune again next time */ }
  }
  return best;
}

function safeEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Times a 256³ product per depth, rounds interleaved; the fastest (ties → earlier) wins. */
async function measure(dev: Device): Promise<number> {
  const bytes = SIZE * SIZE * 4;
  const buffers = [0, 1, 2].map(() => dev.gpu.createBuffer({ size: bytes, usage: STORAGE_USAGE }));
  const region = (b: GPUBuffer) => ({ buffer: b, byteOffset: 0, byteLength: bytes });
  const run = STAGE_DEPTHS.map((depth) => {
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
  const best = STAGE_DEPTHS.map(() => Infinity);
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
  return STAGE_DEPTHS[pick];
}
