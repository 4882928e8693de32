/** Reference-counted memory shared by a tensor and its views. */

/**
 * The memory behind one or more tensors (views share it). Pooled storage goes back to the pool
 * when its last tensor is released; a `free` callback handles storage owned elsewhere.
 */
export class Storage {
  readonly buffer: GPUBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  #refs = 0;
  #free: (() => void) | null;

  constructor(
    buffer: GPUBuffer,
    byteOffset: number,
    byteLength: number,
    free: (() => void) | null,
  ) {
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.byteLength = byteLength;
    this.#free = free;
  }

  /** Counts one more tensor using this storage. */
  retain(): void {
    this.#refs++;
  }

  /** Drops one tensor; the last one frees the memory. */
  drop(): void {
    if (--this.#refs === 0 && this.#free) {
      this.#free();
      this.#free = null;
    }
  }
}
