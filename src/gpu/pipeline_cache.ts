/** Compute pipelines, compiled once per (shader family, entry point, override constants). */

import { loadShader } from "./shader_loader.ts";

/** Override constants of a pipeline (`override TILE: u32 = 64;` in WGSL). */
export type PipelineConstants = Readonly<Record<string, number>>;

/**
 * Caches shader modules by family and pipelines by `shader/entry{constants}`. Pipelines use
 * `layout: "auto"`, so a dispatch must bind exactly the bindings its entry point uses.
 */
export class PipelineCache {
  readonly #gpu: GPUDevice;
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();

  constructor(gpu: GPUDevice) {
    this.#gpu = gpu;
  }

  /** The pipeline for `entryPoint` of `shaders/<shader>.wgsl` with the given constants. */
  get(shader: string, entryPoint: string, constants: PipelineConstants = {}): GPUComputePipeline {
    const key = pipelineKey(shader, entryPoint, constants);
    let pipeline = this.#pipelines.get(key);
    if (pipeline === undefined) {
      pipeline = this.#gpu.createComputePipeline({
        label: key,
        layout: "auto",
        compute: { module: this.#module(shader), entryPoint, constants: { ...constants } },
      });
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
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

  #module(shader: string): GPUShaderModule {
    let module = this.#modules.get(shader);
    if (module === undefined) {
      module = this.#gpu.createShaderModule({ label: shader, code: loadShader(shader) });
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
