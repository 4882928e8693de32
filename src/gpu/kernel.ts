/**
 * A compute kernel: one entry point of one WGSL family, its override constants and the layout of
 * its uniform struct. `dispatch` records into the device's open compute pass.
 */

import type { Device } from "./device.ts";
import type { PipelineConstants } from "./pipeline_cache.ts";
import type { BufferRegion } from "./recorder.ts";

/** Scalar types allowed in a kernel's uniform struct (each 4 bytes, in declaration order). */
export type UniformType = "u32" | "i32" | "f32";

/** Declaration of a kernel. */
export interface KernelSpec {
  /** WGSL family: `shaders/<shader>.wgsl`. */
  shader: string;
  /** The `@compute` function name. */
  entryPoint: string;
  /** Values of `override` declarations. */
  constants?: PipelineConstants;
  /**
   * Fields of the uniform struct at `@group(0) @binding(0)`, in WGSL declaration order; omit when
   * the entry point has no uniforms (then storage bindings start at 0).
   */
  uniforms?: readonly (readonly [name: string, type: UniformType])[];
}

/** Arguments of one dispatch. */
export interface DispatchArgs {
  /** Storage buffers bound at bindings 1, 2, … (0, 1, … without uniforms), in order. */
  bindings: readonly BufferRegion[];
  /** Uniform values by field name; every declared field must be present. */
  uniforms?: Readonly<Record<string, number>>;
  /** Workgroup counts [x, y?, z?]. Zero in any dimension records nothing. */
  workgroups: readonly number[];
}

/** A declared kernel, dispatchable on any device. */
export class Kernel {
  readonly spec: KernelSpec;

  constructor(spec: KernelSpec) {
    this.spec = spec;
  }

  /** Records one dispatch into `dev`'s open compute pass. */
  dispatch(dev: Device, args: DispatchArgs): void {
    const [x, y = 1, z = 1] = args.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxGroups = dev.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      throw new Error(`${this.spec.entryPoint}: workgroups [${x},${y},${z}] exceed ${maxGroups}`);
    }
    const { shader, entryPoint, constants, uniforms } = this.spec;
    const regions: BufferRegion[] = [];
    const hasUniforms = uniforms !== undefined && uniforms.length > 0;
    if (hasUniforms) {
      regions.push(dev.recorder.uniform(packUniforms(uniforms, args.uniforms ?? {}, entryPoint)));
    }
    const pipeline = dev.pipelines.get(shader, entryPoint, constants);
    const first = hasUniforms ? 1 : 0;
    const align = dev.limits.minStorageBufferOffsetAlignment;
    const moved: { view: BufferRegion; scratch: BufferRegion; writable: boolean }[] = [];
    args.bindings.forEach((view, i) => {
      if (view.byteOffset % align === 0) {
        regions.push(view);
        return;
      }
      // A view that starts off the device's binding alignment (a q/k/v block of a fused
      // parameter when d_model is not a multiple of 64, say) is staged through an aligned copy.
      const info = dev.pipelines.info(shader, entryPoint, constants);
      const writable = info.storageWritable.get(first + i) ?? true;
      const scratch = {
        buffer: dev.pool.acquire(view.byteLength),
        byteOffset: 0,
        byteLength: view.byteLength,
      };
      dev.copy(view, scratch);
      moved.push({ view, scratch, writable });
      regions.push(scratch);
    });
    const bindGroup = dev.bindGroups.get(pipeline, dev.pipelines.layout(pipeline), regions);
    const pass = dev.recorder.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    for (const { view, scratch, writable } of moved) {
      if (writable) dev.copy(scratch, view);
      dev.pool.release(scratch.buffer);
    }
  }
}

/** Declares a kernel (see `Kernel`). */
export function defineKernel(spec: KernelSpec): Kernel {
  return new Kernel(spec);
}

/**
 * Workgroup counts covering `n` invocations with `workgroupSize` threads, folded into y when x
 * would pass the 65,535 limit. Shaders recover the linear index as
 * `gid.x + gid.y * nwg.x * WORKGROUP` (see shaders/elementwise.wgsl).
 */
export function grid1d(n: number, workgroupSize: number): [number, number] {
  const groups = Math.ceil(n / workgroupSize);
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

function packUniforms(
  fields: readonly (readonly [string, UniformType])[],
  values: Readonly<Record<string, number>>,
  entryPoint: string,
): Uint8Array {
  const buf = new ArrayBuffer(fields.length * 4);
  const view = new DataView(buf);
  fields.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${entryPoint}: uniform "${name}" missing`);
    if (type === "f32") view.setFloat32(i * 4, v, true);
    else if (type === "i32") view.setInt32(i * 4, v, true);
    else view.setUint32(i * 4, v, true);
  });
  return new Uint8Array(buf);
}
