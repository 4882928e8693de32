/**
 * The command recorder: one open command encoder and one open compute pass that every dispatch
 * joins, plus a uniform arena. Dispatches sharing a pass cost ~50 µs each on lavapipe against
 * 90–190 µs with a pass per dispatch, and a submit+wait costs ≥10 ms, so a whole training step is
 * recorded here and submitted once by `flush()`.
 */

/** A byte range of a GPU buffer, as bound to a shader. */
export interface BufferRegion {
  readonly buffer: GPUBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/**
 * Per-dispatch uniforms (sizes, offsets, eps) are appended to one CPU array and uploaded with a
 * single `writeBuffer` at flush time. Reusing the same GPU buffer across flushes is safe because
 * `queue.writeBuffer` is ordered with submits on the queue timeline.
 */
export class Recorder {
  readonly #gpu: GPUDevice;
  readonly #alignment: number;
  readonly #arena: GPUBuffer;
  readonly #arenaBytes: Uint8Array<ArrayBuffer>;
  #arenaUsed = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #commands = 0;
  #transient: GPUBuffer[] = [];
  #staging: GPUBuffer | null = null;
  readonly #stagingBytes: Uint8Array<ArrayBuffer>;
  #stagingUsed = 0;
  /** Number of submits so far (tests use it to check "one submit per step"). */
  submits = 0;
  /** Number of dispatches recorded so far. */
  dispatches = 0;

  constructor(
    gpu: GPUDevice,
    uniformAlignment: number,
    arenaBytes = 4 << 20,
    stagingBytes = 4 << 20,
  ) {
    this.#stagingBytes = new Uint8Array(stagingBytes);
    this.#gpu = gpu;
    this.#alignment = Math.max(uniformAlignment, 16);
    this.#arena = gpu.createBuffer({
      label: "uniform arena",
      size: arenaBytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#arenaBytes = new Uint8Array(arenaBytes);
  }

  /** True when commands were recorded since the last flush. */
  get pending(): boolean {
    return this.#commands > 0;
  }

  /**
   * Copies `data` into the arena and returns its region. Must be called before the dispatch that
   * uses it is recorded, because a full arena forces a flush.
   */
  uniform(data: Uint8Array): BufferRegion {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    if (this.#arenaUsed + size > this.#arenaBytes.byteLength) this.flush();
    const offset = this.#arenaUsed;
    this.#arenaBytes.set(data, offset);
    this.#arenaUsed = Math.ceil((offset + size) / this.#alignment) * this.#alignment;
    return { buffer: this.#arena, byteOffset: offset, byteLength: size };
  }

  /**
   * Room for `bytes` (a multiple of 4) in the upload staging arena, or null when they do not
   * fit it. Like uniforms, staged bytes reach the GPU with one `writeBuffer` at flush, before
   * the submit whose copies read them, so mid-step uploads create no buffers. May flush.
   */
  stage(bytes: Uint8Array): BufferRegion | null {
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    if (size > this.#stagingBytes.byteLength) return null;
    if (this.#stagingUsed + size > this.#stagingBytes.byteLength) this.flush();
    this.#staging ??= this.#gpu.createBuffer({
      label: "upload staging arena",
      size: this.#stagingBytes.byteLength,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const offset = this.#stagingUsed;
    this.#stagingBytes.set(bytes, offset);
    this.#stagingUsed = offset + Math.max(size, 4);
    return { buffer: this.#staging, byteOffset: offset, byteLength: size };
  }

  /** The open compute pass (opened on demand). */
  computePass(): GPUComputePassEncoder {
    if (this.#pass === null) this.#pass = this.#commandEncoder().beginComputePass();
    this.#commands++;
    this.dispatches++;
    return this.#pass;
  }

  /**
   * Ends any open pass and opens one that writes `querySet` timestamps 0 (begin) and 1 (end);
   * the dispatches recorded until the next copy or flush join it (GPU timing: autotune, bench).
   */
  beginTimedPass(querySet: GPUQuerySet): void {
    if (this.#pass !== null) this.#pass.end();
    this.#pass = this.#commandEncoder().beginComputePass({
      timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
    this.#commands++;
  }

  /** The open encoder for copies and clears; ends the compute pass if one is open. */
  copyEncoder(): GPUCommandEncoder {
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
    this.#commands++;
    return this.#commandEncoder();
  }

  /** Keeps a temporary buffer (upload staging) alive until the next flush, then destroys it. */
  holdUntilFlush(buffer: GPUBuffer): void {
    this.#transient.push(buffer);
  }

  /** Ends the pass, uploads the uniform arena and submits everything recorded. */
  flush(): void {
    if (this.#encoder === null) return;
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
    if (this.#arenaUsed > 0) {
      this.#gpu.queue.writeBuffer(this.#arena, 0, this.#arenaBytes, 0, this.#arenaUsed);
    }
    if (this.#stagingUsed > 0) {
      this.#gpu.queue.writeBuffer(this.#staging!, 0, this.#stagingBytes, 0, this.#stagingUsed);
    }
    this.#gpu.queue.submit([this.#encoder.finish()]);
    this.submits++;
    this.#encoder = null;
    this.#arenaUsed = 0;
    this.#stagingUsed = 0;
    this.#commands = 0;
    // Destroying after submit is allowed: the implementation keeps the memory until the
    // submitted work that uses it completes.
    for (const b of this.#transient) b.destroy();
    this.#transient = [];
  }

  #commandEncoder(): GPUCommandEncoder {
    if (this.#encoder === null) this.#encoder = this.#gpu.createCommandEncoder();
    return this.#encoder;
  }
}
