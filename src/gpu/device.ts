/** The GPU context: adapter + device with the adapter's real limits, pool, pipelines, recorder. */

import { GpuError, UserError } from "../util/errors.ts";
import { selectAdapter } from "./adapter_select.ts";
import { hostEnv } from "../util/host_env.ts";
import { defaultMatmulTuning, type MatmulTuning, type TuneCache, tuneMatmul } from "./autotune.ts";
import { effectiveLimits, type LimitsMode, limitsModeFromEnv } from "./limits.ts";
import { BindGroupCache } from "./bind_group_cache.ts";
import { BufferPool } from "./buffer_pool.ts";
import { PipelineCache } from "./pipeline_cache.ts";
import { type BufferRegion, Recorder } from "./recorder.ts";

/** What the adapter says about itself. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

/** Options of `Device.open`. */
export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** A specific adapter: an index or a name substring (see adapter_select.ts). */
  adapter?: number | string;
  /** Request `shader-f16` when the adapter has it (default true). */
  f16?: boolean;
  /** Request `subgroups` when the adapter has it (default true); row reductions then use them. */
  subgroups?: boolean;
  /**
   * "adapter" (default) requests every limit the adapter has; "default" requests none, so the
   * device has WebGPU's default limits, as on macOS, Dawn and browsers. `KILN_WEBGPU_LIMITS`
   * sets it when the option is absent.
   */
  limits?: LimitsMode;
  /**
   * Tune the matmul kernels for this adapter (preferred tile, concurrency): read from
   * `tuneCache`, or measured once (a second or two) and stored there. Default: true when a
   * `tuneCache` is given, else false (the untuned defaults).
   */
  tune?: boolean;
  /** Where tuning results persist (see src/util/tune_cache_file.ts for the Deno file cache). */
  tuneCache?: TuneCache;
}

const NO_ADAPTER = "no WebGPU adapter found; on a machine without a GPU install Mesa's drivers " +
  "(apt-get install mesa-vulkan-drivers) and set XDG_RUNTIME_DIR to a writable directory";

/**
 * A WebGPU device opened with every limit the adapter allows (or WebGPU's defaults), plus kiln's
 * buffer pool, pipeline cache and the single command recorder that all ops record into.
 *
 * GPU errors are never only logged: an uncaptured validation error, out-of-memory, a pipeline
 * that fails to build or a lost device is kept as {@link Device.failure}; the next readback or
 * sync throws it, and the trainer checks it at every step boundary.
 *
 * @example
 * ```ts
 * const dev = await Device.open();
 * console.log(dev.description, dev.limits.maxStorageBufferBindingSize);
 * ```
 */
export class Device {
  readonly gpu: GPUDevice;
  readonly adapterInfo: AdapterInfo;
  /** The limits kiln plans with (in "default" mode clamped to WebGPU's defaults). */
  readonly limits: Record<string, number>;
  readonly limitsMode: LimitsMode;
  readonly hasF16: boolean;
  readonly hasTimestamps: boolean;
  readonly hasSubgroups: boolean;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly recorder: Recorder;
  readonly bindGroups: BindGroupCache;
  /** Matmul tile menu and adapter concurrency (see autotune.ts). */
  matmulTuning: MatmulTuning;
  #lost = false;
  #destroying = false;
  #failure: GpuError | null = null;
  #pendingChecks: Promise<unknown>[] = [];
  readonly #lostSignal: Promise<never>;

  private constructor(
    gpu: GPUDevice,
    info: AdapterInfo,
    features: Set<string>,
    limitsMode: LimitsMode,
  ) {
    this.gpu = gpu;
    this.adapterInfo = info;
    const reported: Record<string, number> = {};
    for (const key in gpu.limits) {
      const v = (gpu.limits as unknown as Record<string, number>)[key];
      if (typeof v === "number") reported[key] = v;
    }
    this.limitsMode = limitsMode;
    const limits = effectiveLimits(reported, limitsMode);
    this.limits = limits;
    this.hasF16 = features.has("shader-f16");
    this.hasTimestamps = features.has("timestamp-query");
    this.hasSubgroups = features.has("subgroups");
    this.pool = new BufferPool(gpu, limits.maxStorageBufferBindingSize);
    this.pipelines = new PipelineCache(gpu, {
      limits,
      features,
      onError: (err) => this.fail(err),
      track: (check) => this.#pendingChecks.push(check),
    });
    this.recorder = new Recorder(gpu, limits.minUniformBufferOffsetAlignment ?? 256);
    this.bindGroups = new BindGroupCache(gpu, limits.minStorageBufferOffsetAlignment);
    this.matmulTuning = defaultMatmulTuning(this);
    gpu.addEventListener("uncapturederror", (ev) => {
      const error = (ev as GPUUncapturedErrorEvent).error;
      const kind = error.constructor?.name?.replace(/^GPU/, "") || "GPU error";
      this.fail(new GpuError(`WebGPU ${kind}: ${firstLine(error.message)}`));
    });
    this.#lostSignal = gpu.lost.then((info) => {
      this.#lost = true;
      const error = new GpuError(
        `WebGPU device lost (${info.reason ?? "unknown"}): ${
          firstLine(info.message) || "no detail"
        }`,
      );
      if (!this.#destroying) this.fail(error);
      throw this.#failure ?? error;
    });
    this.#lostSignal.catch(() => {/* observed by readback/sync */});
  }

  /** Opens the adapter's device; throws a one-line UserError when there is no adapter. */
  static async open(opts: DeviceOptions = {}): Promise<Device> {
    let adapter: GPUAdapter | null = null;
    if (opts.adapter !== undefined) adapter = await selectAdapter(opts.adapter);
    else {
      try {
        adapter = (await navigator.gpu?.requestAdapter({
          powerPreference: opts.powerPreference,
        })) ?? null;
      } catch {
        adapter = null;
      }
    }
    if (adapter === null) throw new UserError(NO_ADAPTER);
    let limitsMode: LimitsMode;
    try {
      limitsMode = opts.limits ?? limitsModeFromEnv(hostEnv("KILN_WEBGPU_LIMITS"));
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    const requiredLimits: Record<string, number> = {};
    if (limitsMode === "adapter") {
      for (const key in adapter.limits) {
        const v = (adapter.limits as unknown as Record<string, number>)[key];
        if (typeof v === "number") requiredLimits[key] = v;
      }
    }
    const wanted = ["timestamp-query"];
    if (opts.f16 !== false) wanted.push("shader-f16");
    if (opts.subgroups !== false) wanted.push("subgroups");
    const requiredFeatures = wanted.filter((f) =>
      adapter.features.has(f as GPUFeatureName)
    ) as GPUFeatureName[];
    const gpu = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    const i = adapter.info;
    const info: AdapterInfo = {
      vendor: i.vendor ?? "",
      architecture: i.architecture ?? "",
      device: i.device ?? "",
      description: i.description ?? "",
      isFallbackAdapter: Boolean(
        (i as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter,
      ),
    };
    const dev = new Device(gpu, info, new Set<string>(requiredFeatures), limitsMode);
    if (opts.tune ?? opts.tuneCache !== undefined) {
      dev.matmulTuning = await tuneMatmul(dev, opts.tuneCache);
    }
    return dev;
  }

  /** The first GPU failure seen on this device, or null while all is well. */
  get failure(): GpuError | null {
    return this.#failure;
  }

  /** Records a GPU failure; the first one wins (later ones are usually its consequences). */
  fail(error: GpuError): void {
    this.#failure ??= error;
  }

  /** Throws the recorded GPU failure, if any (cheap: call it at every step boundary). */
  throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  /** Waits for pending pipeline checks, then throws the recorded GPU failure, if any. */
  async checkErrors(): Promise<void> {
    while (this.#pendingChecks.length > 0) {
      await Promise.all(this.#pendingChecks.splice(0));
    }
    this.throwIfFailed();
  }

  /** The adapter's description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  get description(): string {
    const i = this.adapterInfo;
    return i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(" ") ||
      "unknown adapter";
  }

  /** True for software adapters that run on the CPU (llvmpipe/lavapipe, SwiftShader, WARP). */
  get isCpuAdapter(): boolean {
    return this.adapterInfo.isFallbackAdapter ||
      /llvmpipe|lavapipe|swiftshader|\bwarp\b/i.test(this.description);
  }

  /**
   * Roughly how many workgroups the adapter runs at once: the CPU's cores for a software
   * adapter (each core runs one workgroup at a time), else measured by the matmul tuner.
   * Kernels that can split their work (split-K matmul) aim for at least this many workgroups.
   */
  get concurrentWorkgroups(): number {
    return this.matmulTuning.concurrency;
  }

  /** Bytes of pooled GPU buffers held by live tensors. */
  bytesInUse(): number {
    return this.pool.bytesInUse();
  }

  /** Ends the open compute pass and submits the one command encoder (no wait). */
  flush(): void {
    this.recorder.flush();
  }

  /** Flushes and waits until the GPU has finished (≥10 ms on lavapipe: use rarely). */
  async sync(): Promise<void> {
    this.throwIfFailed();
    this.flush();
    await Promise.race([this.gpu.queue.onSubmittedWorkDone(), this.#lostSignal]);
    await this.checkErrors();
  }

  /**
   * Writes `data` into `region` in order with the recorded work: with nothing pending it is a
   * plain `queue.writeBuffer`; otherwise the bytes go through a staging buffer copied inside the
   * encoder, so earlier recorded dispatches still see the old contents.
   */
  upload(region: BufferRegion, data: ArrayBufferView): void {
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    // Padding to whole words may spill past the region only into the buffer's own slack.
    if (bytes.byteLength > region.byteLength || region.byteOffset + size > region.buffer.size) {
      throw new Error(
        `upload of ${bytes.byteLength} bytes into a ${region.byteLength}-byte region`,
      );
    }
    if (!this.recorder.pending) {
      if (size === bytes.byteLength) {
        this.gpu.queue.writeBuffer(region.buffer, region.byteOffset, bytes);
      } else {
        const padded = new Uint8Array(size);
        padded.set(bytes);
        this.gpu.queue.writeBuffer(region.buffer, region.byteOffset, padded);
      }
      return;
    }
    const staged = size === bytes.byteLength ? this.recorder.stage(bytes) : null;
    if (staged) {
      this.recorder.copyEncoder().copyBufferToBuffer(
        staged.buffer,
        staged.byteOffset,
        region.buffer,
        region.byteOffset,
        size,
      );
      return;
    }
    const staging = this.gpu.createBuffer({
      size,
      usage: GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Uint8Array(staging.getMappedRange()).set(bytes);
    staging.unmap();
    this.recorder.copyEncoder().copyBufferToBuffer(
      staging,
      0,
      region.buffer,
      region.byteOffset,
      size,
    );
    this.recorder.holdUntilFlush(staging);
  }

  /** Records a copy of `src` into `dst` (same length; offsets and length multiples of 4). */
  copy(src: BufferRegion, dst: BufferRegion): void {
    if (src.byteLength !== dst.byteLength) {
      throw new Error(`copy of ${src.byteLength} bytes into a ${dst.byteLength}-byte region`);
    }
    this.recorder.copyEncoder().copyBufferToBuffer(
      src.buffer,
      src.byteOffset,
      dst.buffer,
      dst.byteOffset,
      Math.ceil(src.byteLength / 4) * 4,
    );
  }

  /** Records zero-filling of `region` (offset and length multiples of 4). */
  clear(region: BufferRegion): void {
    this.recorder.copyEncoder().clearBuffer(region.buffer, region.byteOffset, region.byteLength);
  }

  /** Flushes, copies `region` to a mappable buffer and returns its bytes. */
  async readback(region: BufferRegion): Promise<ArrayBuffer> {
    this.throwIfFailed();
    const size = Math.ceil(region.byteLength / 4) * 4;
    const staging = this.gpu.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.recorder.copyEncoder().copyBufferToBuffer(
      region.buffer,
      region.byteOffset,
      staging,
      0,
      size,
    );
    this.flush();
    // A lost device may never resolve the map; the loss itself is the answer then.
    try {
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.#lostSignal]);
    } catch (err) {
      // A failed map usually means the device went away; let its loss (or error) name it.
      const settle = new Promise((resolve) => setTimeout(resolve, 100));
      await Promise.race([this.#lostSignal, settle]).catch(() => {});
      this.throwIfFailed();
      throw new GpuError(`WebGPU readback failed: ${firstLine((err as Error).message)}`);
    }
    const out = staging.getMappedRange().slice(0, region.byteLength);
    staging.unmap();
    staging.destroy();
    // Values computed by an invalid pipeline are garbage: never hand them out.
    await this.checkErrors();
    return out;
  }

  /** True once the device was destroyed or lost. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Frees the pool and the device. */
  destroy(): void {
    this.#destroying = true;
    if (!this.#lost) this.flush();
    this.pool.trim();
    this.gpu.destroy();
  }
}

function firstLine(message: string): string {
  return (message ?? "").trim().split("\n")[0];
}
