/**
 * Storage buffers recycled by size class. Tensors come and go every step (activations, grads);
 * creating a GPUBuffer each time is slow and fragments memory, so released buffers wait here
 * for the next request of the same class.
 */

import { UserError } from "../util/errors.ts";

/** Usage of every pooled buffer: bindable as storage and usable in copies and clears. */
export const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC |
  GPUBufferUsage.COPY_DST;

/**
 * The size class of a request: powers of two up to 1 MiB, then sixteenths of the enclosing power of
 * two (so a large buffer wastes at most 12.5%).
 */
export function sizeClass(byteLength: number): number {
  const n = Math.max(256, Math.ceil(byteLength));
  const pow = 2 ** Math.ceil(Math.log2(n));
  if (pow <= 1 << 20) return pow;
  const step = pow / 16;
  return Math.ceil(n / step) * step;
}

/** Hands out storage buffers by size class and tracks the bytes held by live tensors. */
export class BufferPool {
  readonly #gpu: GPUDevice;
  readonly #maxBinding: number;
  readonly #free = new Map<number, GPUBuffer[]>();
  #inUse = 0;
  #pooled = 0;
  #peak = 0;

  constructor(gpu: GPUDevice, maxStorageBufferBindingSize: number) {
    this.#gpu = gpu;
    this.#maxBinding = maxStorageBufferBindingSize;
  }

  /** A buffer of at least `byteLength` bytes (contents undefined). */
  acquire(byteLength: number): GPUBuffer {
    if (byteLength > this.#maxBinding) {
      throw new UserError(
        `a tensor of ${byteLength} bytes exceeds this adapter's maxStorageBufferBindingSize ` +
          `(${this.#maxBinding} bytes); use a smaller model or batch`,
      );
    }
    const size = Math.min(sizeClass(byteLength), Math.max(this.#maxBinding, 256));
    const list = this.#free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.#pooled -= size;
    } else {
      buffer = this.#gpu.createBuffer({ size, usage: STORAGE_USAGE });
    }
    this.#inUse += size;
    this.#peak = Math.max(this.#peak, this.#inUse);
    return buffer;
  }

  /** Returns a buffer obtained from `acquire` for reuse. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.#inUse -= size;
    this.#pooled += size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
  }

  /** Bytes of pooled buffers currently held by live tensors. */
  bytesInUse(): number {
    return this.#inUse;
  }

  /** The most bytes held by live tensors at once since the last `resetPeak()`. */
  peakBytes(): number {
    return this.#peak;
  }

  /** Starts a new peak window at the bytes in use now. */
  resetPeak(): void {
    this.#peak = this.#inUse;
  }

  /** Bytes of released buffers kept for reuse. */
  bytesPooled(): number {
    return this.#pooled;
  }

  /** Destroys every idle buffer (e.g. after evaluation with a different batch shape). */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#pooled = 0;
  }
}
