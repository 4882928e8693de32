/**
 * WebGPU's default limits (the spec's table): what every conformant device grants without asking,
 * and so the only limits a portable kernel may assume. `Device.open({ limits: "default" })` keeps
 * the device inside them, which is how kiln tests what macOS, Dawn and browsers give.
 *
 * @module
 */

/** The spec's default value of every limit kiln reads. */
export const WEBGPU_DEFAULT_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  maxBindGroups: 4,
  maxBindingsPerBindGroup: 1000,
  maxDynamicUniformBuffersPerPipelineLayout: 8,
  maxDynamicStorageBuffersPerPipelineLayout: 4,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBuffersPerShaderStage: 12,
  maxUniformBufferBindingSize: 65536,
  maxStorageBufferBindingSize: 134217728,
  minUniformBufferOffsetAlignment: 256,
  minStorageBufferOffsetAlignment: 256,
  maxBufferSize: 268435456,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
});

/** Which limits a device is opened with: everything the adapter has, or WebGPU's defaults. */
export type LimitsMode = "adapter" | "default";

/** Alignment limits are better when smaller; every other limit when larger. */
function isAlignment(name: string): boolean {
  return name.startsWith("min");
}

/**
 * The limits kiln plans with in `mode`: the device's own, or, in default mode, each clamped to
 * WebGPU's default so that kiln's checks fail where a default device would.
 */
export function effectiveLimits(
  reported: Readonly<Record<string, number>>,
  mode: LimitsMode,
): Record<string, number> {
  const out: Record<string, number> = { ...reported };
  if (mode === "default") {
    for (const [name, value] of Object.entries(WEBGPU_DEFAULT_LIMITS)) {
      const have = out[name] ?? value;
      out[name] = isAlignment(name) ? Math.max(have, value) : Math.min(have, value);
    }
  }
  return out;
}

/** The limits mode named by `KILN_WEBGPU_LIMITS` (adapter | default), else "adapter". */
export function limitsModeFromEnv(value: string | undefined): LimitsMode {
  if (value === undefined || value === "" || value === "adapter") return "adapter";
  if (value === "default") return "default";
  throw new Error(`KILN_WEBGPU_LIMITS must be "adapter" or "default", found "${value}"`);
}
