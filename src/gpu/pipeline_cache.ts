/**
 * Compute pipelines, compiled once per (shader family, entry point, override constants), each
 * checked against the device before it is built and built inside error scopes, so a kernel that
 * does not fit or does not compile is a named, fatal error instead of a console line.
 */

import { GpuError } from "../util/errors.ts";
import { loadShader, type ShaderVariant } from "./shader_loader.ts";
import { type EntryPointInfo, reflectEntryPoint } from "./wgsl_reflect.ts";

/** Override constants of a pipeline (`override TILE: u32 = 64;` in WGSL). */
export type PipelineConstants = Readonly<Record<string, number>>;

/** What the cache needs to know about its device. */
export interface PipelineCacheOptions {
  /** The limits kiln plans with (see Device.limits). */
  limits: Readonly<Record<string, number>>;
  /** Features the device was created with. */
  features: ReadonlySet<string>;
  /** Receives a failure found after the fact (the error scope resolves asynchronously). */
  onError: (err: GpuError) => void;
  /** Receives each pending error-scope check, so readbacks can wait for them. */
  track: (check: Promise<unknown>) => void;
}

/**
 * Caches shader modules by family and pipelines by `shader/entry{constants}`. Pipelines use
 * `layout: "auto"`, so a dispatch must bind exactly the bindings its entry point uses.
 */
export class PipelineCache {
  readonly #gpu: GPUDevice;
  readonly #opts: PipelineCacheOptions;
  readonly #variant: ShaderVariant;
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #infos = new Map<string, EntryPointInfo>();
  readonly #layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();

  constructor(gpu: GPUDevice, opts: PipelineCacheOptions) {
    this.#gpu = gpu;
    this.#opts = opts;
    this.#variant = { subgroups: opts.features.has("subgroups") };
  }

  /** The pipeline for `entryPoint` of `shaders/<shader>.wgsl` with the given constants. */
  get(shader: string, entryPoint: string, constants: PipelineConstants = {}): GPUComputePipeline {
    const key = pipelineKey(shader, entryPoint, constants);
    let pipeline = this.#pipelines.get(key);
    if (pipeline === undefined) {
      this.#checkFits(key, this.info(shader, entryPoint, constants));
      const gpu = this.#gpu;
      gpu.pushErrorScope("out-of-memory");
      gpu.pushErrorScope("validation");
      pipeline = gpu.createComputePipeline({
        label: key,
        layout: "auto",
        compute: { module: this.#module(shader), entryPoint, constants: { ...constants } },
      });
      const report = (error: GPUError | null) => {
        if (error) this.#opts.onError(new GpuError(`kernel ${key}: ${oneLine(error.message)}`));
      };
      this.#opts.track(gpu.popErrorScope().then(report));
      this.#opts.track(gpu.popErrorScope().then(report));
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Workgroup size, workgroup memory and binding access of an entry point (reflected WGSL). */
  info(shader: string, entryPoint: string, constants: PipelineConstants = {}): EntryPointInfo {
    const key = pipelineKey(shader, entryPoint, constants);
    let info = this.#infos.get(key);
    if (info === undefined) {
      info = reflectEntryPoint(this.source(shader), entryPoint, constants);
      this.#infos.set(key, info);
    }
    return info;
  }

  /** The WGSL this device compiles for `shader` (with the device's row-reduction variant). */
  source(shader: string): string {
    return loadShader(shader, this.#variant);
  }

  /** The pipeline's bind group 0 layout (asking the pipeline each time costs a Deno op). */
  layout(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let layout = this.#layouts.get(pipeline);
    if (layout === undefined) {
      layout = pipeline.getBindGroupLayout(0);
      this.#layouts.set(pipeline, layout);
    }
    return layout;
  }

  /** Number of distinct pipelines compiled so far. */
  get size(): number {
    return this.#pipelines.size;
  }

  /** wgpu does not enforce every compute limit, so kiln checks them before building. */
  #checkFits(key: string, info: EntryPointInfo): void {
    const l = this.#opts.limits;
    const [x, y, z] = info.workgroupSize;
    const invocations = x * y * z;
    const problems: string[] = [];
    if (invocations > l.maxComputeInvocationsPerWorkgroup) {
      problems.push(
        `${invocations} invocations per workgroup (limit ${l.maxComputeInvocationsPerWorkgroup})`,
      );
    }
    if (
      x > l.maxComputeWorkgroupSizeX || y > l.maxComputeWorkgroupSizeY ||
      z > l.maxComputeWorkgroupSizeZ
    ) {
      problems.push(`workgroup size ${x}×${y}×${z}`);
    }
    if (info.workgroupBytes > l.maxComputeWorkgroupStorageSize) {
      problems.push(
        `${info.workgroupBytes} bytes of workgroup memory ` +
          `(maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize})`,
      );
    }
    if (problems.length > 0) {
      throw new GpuError(`kernel ${key} does not fit this device: ${problems.join(", ")}`);
    }
  }

  #module(shader: string): GPUShaderModule {
    let module = this.#modules.get(shader);
    if (module === undefined) {
      const code = this.source(shader);
      if (/^\s*enable\s+f16\s*;/m.test(code) && !this.#opts.features.has("shader-f16")) {
        throw new GpuError(`kernel family ${shader} needs shader-f16, which this device lacks`);
      }
      module = this.#gpu.createShaderModule({ label: shader, code });
      this.#modules.set(shader, module);
    }
    return module;
  }
}

/** The cache key: constants sorted by name so their order in the object does not matter. */
export function pipelineKey(
  shader: string,
  entryPoint: string,
  constants: PipelineConstants,
): string {
  const parts = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`);
  return `${shader}/${entryPoint}{${parts.join(",")}}`;
}

/** A compiler message on one line (Naga's and Tint's span several), bounded in length. */
function oneLine(message: string): string {
  const line = (message ?? "").replace(/\s+/g, " ").trim();
  return line.length > 600 ? `${line.slice(0, 600)}…` : line;
}
