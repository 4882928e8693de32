/**
 * The tile menu of `matmul_tiled` (shaders/matmul.wgsl) and which tiles a device can run. Every
 * tile gives bit-identical products (each output is one fma chain over k in order), so the menu
 * and the tuner may choose freely without changing results.
 */

/** One tile configuration: its override constants and what it costs the device. */
export interface MatmulTile {
  /** Menu name, e.g. "128x128". */
  readonly name: string;
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
}

/** The menu, largest first. */
export const MATMUL_TILES: readonly MatmulTile[] = [
  { name: "128x128", BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  { name: "128x64", BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { name: "64x64", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { name: "32x32", BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
];

/** Invocations per workgroup of a tile. */
export function tileThreads(t: MatmulTile): number {
  return (t.BM / t.TM) * (t.BN / t.TN);
}

/** Bytes of workgroup memory a tile declares: both k-major stages, f32. */
export function tileWorkgroupBytes(t: MatmulTile): number {
  return (t.BM + t.BN) * t.BK * 4;
}

/** The override constants of a tile. */
export function tileConstants(t: MatmulTile): Record<string, number> {
  return { BM: t.BM, BN: t.BN, BK: t.BK, TM: t.TM, TN: t.TN };
}

/**
 * The tiles a device with these limits can run: workgroup memory within
 * `maxComputeWorkgroupStorageSize` (wgpu does not check it; a device at WebGPU's default 16 KiB
 * would reject more at the driver) and invocations within the workgroup-size limits.
 */
export function tilesWithinLimits(limits: Readonly<Record<string, number>>): MatmulTile[] {
  const memory = limits.maxComputeWorkgroupStorageSize ?? 16384;
  const invocations = Math.min(
    limits.maxComputeInvocationsPerWorkgroup ?? 256,
    limits.maxComputeWorkgroupSizeX ?? 256,
  );
  return MATMUL_TILES.filter((t) =>
    tileWorkgroupBytes(t) <= memory && tileThreads(t) <= invocations
  );
}

/** The menu entry named `name`, or undefined. */
export function tileNamed(name: string): MatmulTile | undefined {
  return MATMUL_TILES.find((t) => t.name === name);
}
