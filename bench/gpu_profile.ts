/**
 * GPU time per kernel family from timestamp queries, for benchmarks only. While active, every
 * dispatch gets its own compute pass with begin/end timestamps (so it measures kernels, not the
 * normal many-dispatches-per-pass schedule, whose overhead is lower); the family is the WGSL file
 * (`shaders/<family>.wgsl`). Installs itself by wrapping Kernel/Recorder methods, so the engine
 * needs no profiling code path.
 */

import type { Device } from "../src/gpu/device.ts";
import { Kernel } from "../src/gpu/kernel.ts";
import { Recorder } from "../src/gpu/recorder.ts";

const MAX_PASSES = 2048; // 4096 queries, WebGPU's maxQuerySetSize floor

/** Collects nanoseconds of GPU time per kernel family. */
export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private labels: string[] = [];
  private open: GPUComputePassEncoder | null = null;
  private current = "unknown";
  private pending: Promise<void>[] = [];
  private restore: (() => void) | null = null;
  /** Nanoseconds per family so far. */
  readonly totals = new Map<string, number>();

  constructor(private readonly dev: Device) {
    if (!dev.hasTimestamps) throw new Error("the adapter has no timestamp-query feature");
    this.querySet = dev.gpu.createQuerySet({ type: "timestamp", count: 2 * MAX_PASSES });
    this.resolveBuffer = dev.gpu.createBuffer({
      size: 16 * MAX_PASSES,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Starts timing every dispatch recorded on this device. */
  start(): void {
    // deno-lint-ignore no-this-alias
    const profiler = this;
    const dispatch = Kernel.prototype.dispatch;
    const computePass = Recorder.prototype.computePass;
    const copyEncoder = Recorder.prototype.copyEncoder;
    const flush = Recorder.prototype.flush;
    Kernel.prototype.dispatch = function (dev, args) {
      profiler.current = this.spec.shader;
      return dispatch.call(this, dev, args);
    };
    Recorder.prototype.copyEncoder = function () {
      profiler.endOpen();
      return copyEncoder.call(this);
    };
    Recorder.prototype.computePass = function () {
      if (profiler.labels.length >= MAX_PASSES) return computePass.call(this);
      const encoder = this.copyEncoder();
      const i = profiler.labels.length;
      profiler.labels.push(profiler.current);
      this.dispatches++;
      profiler.open = encoder.beginComputePass({
        timestampWrites: {
          querySet: profiler.querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      return profiler.open;
    };
    Recorder.prototype.flush = function () {
      profiler.endOpen();
      if (profiler.labels.length > 0) profiler.resolve(copyEncoder.call(this));
      flush.call(this);
    };
    this.restore = () => {
      Kernel.prototype.dispatch = dispatch;
      Recorder.prototype.computePass = computePass;
      Recorder.prototype.copyEncoder = copyEncoder;
      Recorder.prototype.flush = flush;
    };
  }

  /** Stops timing and waits for all timestamps recorded so far. */
  async stop(): Promise<Map<string, number>> {
    this.dev.flush();
    this.restore?.();
    this.restore = null;
    await Promise.all(this.pending);
    return this.totals;
  }

  private endOpen(): void {
    this.open?.end();
    this.open = null;
  }

  private resolve(encoder: GPUCommandEncoder): void {
    const labels = this.labels;
    this.labels = [];
    const bytes = 16 * labels.length;
    const staging = this.dev.gpu.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.querySet, 0, 2 * labels.length, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, bytes);
    // Mapping is requested after the submit that follows (flush), hence the microtask delay.
    this.pending.push(
      Promise.resolve().then(async () => {
        await staging.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(staging.getMappedRange());
        labels.forEach((label, i) => {
          const ns = Number(t[2 * i + 1] - t[2 * i]);
          if (ns > 0) this.totals.set(label, (this.totals.get(label) ?? 0) + ns);
        });
        staging.unmap();
        staging.destroy();
      }),
    );
  }
}

/** "family 41.2%, …" sorted by share. */
export function formatShares(totals: Map<string, number>): string {
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals].sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${((100 * v) / all).toFixed(1)}%`).join(", ");
}
