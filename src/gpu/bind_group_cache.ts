/**
 * Bind groups reused across steps. Creating one costs ~40 µs on lavapipe, more than recording the
 * dispatch itself; a training step repeats the same dispatches on the same pooled buffers at the
 * same uniform-arena offsets, so from the second step on nearly every lookup hits.
 */

import type { BufferRegion } from "./recorder.ts";

/** Entries kept before the cache is emptied (bounds memory held by stale groups). */
const MAX_ENTRIES = 16384;

/**
 * A binding must start at a multiple of the adapter's minStorageBufferOffsetAlignment (32 bytes on
 * lavapipe, up to 256 on GPUs). WebGPU would report a misaligned tensor view as an opaque
 * validation error; say what happened instead.
 */
function checkAlignment(regions: readonly BufferRegion[], alignment: number): void {
  for (const r of regions) {
    if (r.byteOffset % alignment !== 0) {
      throw new Error(
        `a tensor view at byte offset ${r.byteOffset} cannot be bound: this adapter's ` +
          `minStorageBufferOffsetAlignment is ${alignment} bytes (copy the slice or align the view)`,
      );
    }
  }
}

/** Caches bind groups by pipeline and exact buffer ranges. */
export class BindGroupCache {
  readonly #gpu: GPUDevice;
  readonly #alignment: number;
  readonly #groups = new Map<string, GPUBindGroup>();
  readonly #ids = new WeakMap<object, number>();
  #nextId = 1;
  hits = 0;
  misses = 0;

  constructor(gpu: GPUDevice, alignment: number) {
    this.#gpu = gpu;
    this.#alignment = alignment;
  }

  /** The bind group binding `regions` at 0, 1, … for `pipeline` (whose layout is `layout`). */
  get(
    pipeline: GPUComputePipeline,
    layout: GPUBindGroupLayout,
    regions: readonly BufferRegion[],
  ): GPUBindGroup {
    let key = String(this.#id(pipeline));
    for (const r of regions) key += `|${this.#id(r.buffer)}:${r.byteOffset}:${bindingSize(r)}`;
    let group = this.#groups.get(key);
    if (group !== undefined) {
      this.hits++;
      return group;
    }
    this.misses++;
    checkAlignment(regions, this.#alignment);
    group = this.#gpu.createBindGroup({
      layout,
      entries: regions.map((r, binding) => ({
        binding,
        resource: { buffer: r.buffer, offset: r.byteOffset, size: bindingSize(r) },
      })),
    });
    if (this.#groups.size >= MAX_ENTRIES) this.#groups.clear();
    this.#groups.set(key, group);
    return group;
  }

  /** Drops every cached group (e.g. after buffers were destroyed). */
  clear(): void {
    this.#groups.clear();
  }

  #id(o: object): number {
    let id = this.#ids.get(o);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(o, id);
    }
    return id;
  }
}

/** Bindings must be non-empty multiples of 4 bytes. */
function bindingSize(r: BufferRegion): number {
  return Math.max(4, Math.ceil(r.byteLength / 4) * 4);
}
